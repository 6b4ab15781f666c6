// Package report keeps the audit record of a replay: the alerts and
// evidence images of each input file gathered as they are published, the
// one-file HTML report, the progress line on a terminal and the summary per
// file.
package report
