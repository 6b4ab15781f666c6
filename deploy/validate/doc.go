// Package validate checks the deployment files under deploy/ offline: the kustomize
// output decodes into Kubernetes API types, and the dashboard and alerting rules query
// only metrics that streamwatch exports. It is a module of its own so that the
// Kubernetes libraries stay out of streamwatch's go.mod; `make deploy-check` runs it.
package validate
