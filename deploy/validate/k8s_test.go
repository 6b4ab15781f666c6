package validate

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// repoRoot is the main module's directory, two levels above this one.
const repoRoot = "../.."

// rendered holds the objects of one kustomize build, decoded into their API types.
type rendered struct {
	namespaces   []corev1.Namespace
	deployments  []appsv1.Deployment
	services     []corev1.Service
	pdbs         []policyv1.PodDisruptionBudget
	configMaps   []corev1.ConfigMap
	jobs         []batchv1.Job
	scaledObject []unstructured.Unstructured
}

// kustomizeBuild runs the kustomize binary named by $KUSTOMIZE (set by `make deploy-check`)
// on deploy/k8s and returns its output.
func kustomizeBuild(t *testing.T) []byte {
	t.Helper()
	bin := os.Getenv("KUSTOMIZE")
	if bin == "" {
		var err error
		bin, err = exec.LookPath("kustomize")
		require.NoError(t, err, "no kustomize: set KUSTOMIZE, or run `make deploy-check`, which installs it")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "build", filepath.Join(repoRoot, "deploy", "k8s"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "kustomize build deploy/k8s: %s", stderr.String())
	return out
}

// decodeAll decodes every document of a kustomize output into its API type, strictly:
// a field the type does not have is an error.
func decodeAll(t *testing.T, out []byte) rendered {
	t.Helper()
	var r rendered
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var u unstructured.Unstructured
		require.NoError(t, yaml.Unmarshal(doc, &u.Object))
		id := u.GetAPIVersion() + " " + u.GetKind() + " " + u.GetName()
		strict := func(into any) {
			require.NoError(t, yaml.UnmarshalStrict(doc, into), "%s", id)
		}
		switch u.GetAPIVersion() + "/" + u.GetKind() {
		case "v1/Namespace":
			var o corev1.Namespace
			strict(&o)
			r.namespaces = append(r.namespaces, o)
		case "apps/v1/Deployment":
			var o appsv1.Deployment
			strict(&o)
			r.deployments = append(r.deployments, o)
		case "v1/Service":
			var o corev1.Service
			strict(&o)
			r.services = append(r.services, o)
		case "policy/v1/PodDisruptionBudget":
			var o policyv1.PodDisruptionBudget
			strict(&o)
			r.pdbs = append(r.pdbs, o)
		case "v1/ConfigMap":
			var o corev1.ConfigMap
			strict(&o)
			r.configMaps = append(r.configMaps, o)
		case "batch/v1/Job":
			var o batchv1.Job
			strict(&o)
			r.jobs = append(r.jobs, o)
		case "keda.sh/v1alpha1/ScaledObject":
			r.scaledObject = append(r.scaledObject, u)
		default:
			t.Fatalf("unexpected object %s: add its type to deploy/validate", id)
		}
	}
	return r
}

func TestKustomizeRendersAPIObjects(t *testing.T) {
	r := decodeAll(t, kustomizeBuild(t))

	require.Len(t, r.namespaces, 1, "namespaces")
	require.Len(t, r.deployments, 1, "deployments")
	require.Len(t, r.services, 1, "services")
	require.Len(t, r.pdbs, 1, "pod disruption budgets")
	require.Len(t, r.jobs, 1, "jobs")
	require.Len(t, r.scaledObject, 1, "scaled objects")
	ns := r.namespaces[0].Name
	dep := r.deployments[0]
	pod := dep.Spec.Template

	configMaps := map[string]corev1.ConfigMap{}
	for _, cm := range r.configMaps {
		configMaps[cm.Name] = cm
	}

	t.Run("every object in the namespace", func(t *testing.T) {
		names := []string{dep.Namespace, r.services[0].Namespace, r.pdbs[0].Namespace, r.jobs[0].Namespace, r.scaledObject[0].GetNamespace()}
		for _, cm := range r.configMaps {
			names = append(names, cm.Namespace)
		}
		for _, n := range names {
			require.Equal(t, ns, n)
		}
	})

	t.Run("worker deployment", func(t *testing.T) {
		require.Nil(t, dep.Spec.Replicas, "replicas belong to the ScaledObject")
		sel, err := metaSelector(dep.Spec.Selector.MatchLabels)
		require.NoError(t, err)
		require.True(t, sel.Matches(labels.Set(pod.Labels)), "selector matches the pod labels")
		require.Len(t, pod.Spec.Containers, 1)
		c := pod.Spec.Containers[0]
		require.NotEmpty(t, c.Args)
		require.Equal(t, "worker", c.Args[0])
		requireNonRoot(t, pod.Spec.SecurityContext, c.SecurityContext)
		requireResources(t, c)
		requireEnvFromConfigMap(t, c, "NATS_URL", configMaps)

		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		for _, probe := range []struct {
			name string
			p    *corev1.Probe
			path string
		}{
			{"liveness", c.LivenessProbe, "/healthz"},
			{"readiness", c.ReadinessProbe, "/readyz"},
		} {
			require.NotNil(t, probe.p, probe.name)
			require.NotNil(t, probe.p.HTTPGet, probe.name)
			require.Equal(t, probe.path, probe.p.HTTPGet.Path, probe.name)
			require.Contains(t, ports, probe.p.HTTPGet.Port.String(), "%s probe port is a named container port", probe.name)
		}
		require.Contains(t, c.Args, ":"+strconv.Itoa(int(ports["metrics"])), "--metrics-addr serves the metrics port")
	})

	t.Run("metrics service selects the workers", func(t *testing.T) {
		svc := r.services[0]
		require.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)))
		require.NotEmpty(t, svc.Spec.Ports)
		require.Equal(t, "metrics", svc.Spec.Ports[0].TargetPort.String())
	})

	t.Run("disruption budget selects the workers", func(t *testing.T) {
		pdb := r.pdbs[0]
		sel, err := metaSelector(pdb.Spec.Selector.MatchLabels)
		require.NoError(t, err)
		require.True(t, sel.Matches(labels.Set(pod.Labels)))
		require.True(t, pdb.Spec.MaxUnavailable != nil || pdb.Spec.MinAvailable != nil)
	})

	t.Run("rules push job", func(t *testing.T) {
		job := r.jobs[0]
		spec := job.Spec.Template.Spec
		require.Len(t, spec.Containers, 1)
		c := spec.Containers[0]
		require.GreaterOrEqual(t, len(c.Args), 3)
		require.Equal(t, []string{"rules", "push", "/rules/rules.yaml"}, c.Args[:3])
		requireNonRoot(t, spec.SecurityContext, c.SecurityContext)
		requireResources(t, c)
		requireEnvFromConfigMap(t, c, "NATS_URL", configMaps)
		require.Len(t, c.VolumeMounts, 1)
		require.Equal(t, "/rules", c.VolumeMounts[0].MountPath)
		var cmName string
		for _, v := range spec.Volumes {
			if v.Name == c.VolumeMounts[0].Name && v.ConfigMap != nil {
				cmName = v.ConfigMap.Name
			}
		}
		cm, ok := configMaps[cmName]
		require.True(t, ok, "volume %q is a ConfigMap of the build (got %q)", c.VolumeMounts[0].Name, cmName)
		want, err := os.ReadFile(filepath.Join(repoRoot, "match", "default_rules.yaml"))
		require.NoError(t, err)
		require.Equal(t, string(want), cm.Data["rules.yaml"],
			"deploy/k8s/rules.yaml is a copy of match/default_rules.yaml: cp match/default_rules.yaml deploy/k8s/rules.yaml")
	})

	t.Run("KEDA scaled object", func(t *testing.T) {
		so := r.scaledObject[0].Object
		spec, ok := so["spec"].(map[string]any)
		require.True(t, ok, "spec")
		allowed := map[string]bool{"scaleTargetRef": true, "minReplicaCount": true, "maxReplicaCount": true,
			"pollingInterval": true, "cooldownPeriod": true, "idleReplicaCount": true, "initialCooldownPeriod": true,
			"advanced": true, "fallback": true, "triggers": true}
		for k := range spec {
			require.True(t, allowed[k], "unknown ScaledObject spec field %q", k)
		}
		target, _, err := unstructured.NestedStringMap(so, "spec", "scaleTargetRef")
		require.NoError(t, err)
		require.Equal(t, dep.Name, target["name"], "scaleTargetRef names the worker Deployment")
		minR := nestedNumber(t, so, "spec", "minReplicaCount")
		maxR := nestedNumber(t, so, "spec", "maxReplicaCount")
		require.GreaterOrEqual(t, minR, 2.0, "at least two workers, so one can fail")
		require.Greater(t, maxR, minR)

		triggers, _, err := unstructured.NestedSlice(so, "spec", "triggers")
		require.NoError(t, err)
		require.Len(t, triggers, 1)
		trig, ok := triggers[0].(map[string]any)
		require.True(t, ok)
		require.Equal(t, "nats-jetstream", trig["type"])
		md, _, err := unstructured.NestedStringMap(trig, "metadata")
		require.NoError(t, err, "trigger metadata values are strings")
		require.Equal(t, "STREAMWATCH_ASSIGN", md["stream"])
		require.Equal(t, "workers", md["consumer"])
		require.NotEmpty(t, md["natsServerMonitoringEndpoint"])
		require.NotEmpty(t, md["account"])
		lag, err := strconv.Atoi(md["lagThreshold"])
		require.NoError(t, err, "lagThreshold")
		require.Positive(t, lag)
		known := map[string]bool{"natsServerMonitoringEndpoint": true, "account": true, "stream": true, "consumer": true,
			"lagThreshold": true, "activationLagThreshold": true, "useHttps": true}
		for k := range md {
			require.True(t, known[k], "unknown nats-jetstream trigger parameter %q", k)
		}
	})
}

// nestedNumber returns a number of a decoded object: YAML numbers decode as float64.
func nestedNumber(t *testing.T, obj map[string]any, fields ...string) float64 {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(obj, fields...)
	require.NoError(t, err)
	require.True(t, ok, "%v is set", fields)
	f, ok := v.(float64)
	require.True(t, ok, "%v is a number, not %T", fields, v)
	return f
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, errors.New("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

func requireNonRoot(t *testing.T, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	require.NotNil(t, pod, "pod securityContext")
	require.NotNil(t, pod.RunAsNonRoot)
	require.True(t, *pod.RunAsNonRoot)
	require.NotNil(t, pod.RunAsUser)
	require.NotZero(t, *pod.RunAsUser)
	require.NotNil(t, c, "container securityContext")
	require.NotNil(t, c.AllowPrivilegeEscalation)
	require.False(t, *c.AllowPrivilegeEscalation)
}

func requireResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, ok := c.Resources.Requests[res]
		require.True(t, ok, "%s request of %s", res, c.Name)
		lim, ok := c.Resources.Limits[res]
		require.True(t, ok, "%s limit of %s", res, c.Name)
		require.LessOrEqual(t, req.Cmp(lim), 0, "%s request within its limit", res)
	}
}

func requireEnvFromConfigMap(t *testing.T, c corev1.Container, name string, configMaps map[string]corev1.ConfigMap) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.Value != "" {
			return
		}
		require.NotNil(t, e.ValueFrom, name)
		ref := e.ValueFrom.ConfigMapKeyRef
		require.NotNil(t, ref, name)
		cm, ok := configMaps[ref.Name]
		require.True(t, ok, "%s refers to ConfigMap %q of the build", name, ref.Name)
		require.NotEmpty(t, cm.Data[ref.Key], "%s: key %q", name, ref.Key)
		return
	}
	t.Fatalf("container %s has no %s", c.Name, name)
}
