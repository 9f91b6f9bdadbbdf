package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cluster = `{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "c1", "connect_timeout": "1s"}`

// An envoy config the way the chart and `casa-agent render` print it, next to
// an object that holds no Envoy resources.
const ccecYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "---"}
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideEnvoyConfig
metadata:
  name: casa-egress
spec:
  resources:
  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
    name: c1
    connect_timeout: 1s
  - "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
    name: r1
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - match: {prefix: /}
        route: {cluster: c1, timeout: 0s}
`

func TestInputShapes(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		sources []string
		skipped int
	}{
		{name: "one resource", input: cluster, sources: []string{"in"}},
		{name: "a JSON list", input: "[" + cluster + "," + cluster + "]", sources: []string{"in[0]", "in[1]"}},
		{name: "concatenated JSON values", input: cluster + "\n" + cluster, sources: []string{"in#0", "in#1"}},
		{name: "a YAML resource", input: "'@type': type.googleapis.com/envoy.config.cluster.v3.Cluster\nname: c1\n", sources: []string{"in"}},
		{
			name:    "multi-document YAML with a Cilium envoy config and another object",
			input:   ccecYAML,
			sources: []string{"in#1 CiliumClusterwideEnvoyConfig/casa-egress spec.resources[0]", "in#1 CiliumClusterwideEnvoyConfig/casa-egress spec.resources[1]"},
			skipped: 1,
		},
		{
			name: "a Kubernetes List of namespaced envoy configs",
			input: `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig",
			  "metadata": {"name": "e", "namespace": "ns"}, "spec": {"resources": [` + cluster + `]}}]}`,
			sources: []string{"in items[0] CiliumEnvoyConfig/ns/e spec.resources[0]"},
		},
		{name: "a bare resources list", input: `{"resources": [` + cluster + `]}`, sources: []string{"in resources[0]"}},
		{name: "empty YAML documents are ignored", input: "---\n---\n" + "'@type': type.googleapis.com/envoy.config.cluster.v3.Cluster\n", sources: []string{"in#1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := ParseInput("in", []byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range in.Resources {
				got = append(got, r.Source)
			}
			if strings.Join(got, "|") != strings.Join(tc.sources, "|") {
				t.Fatalf("sources:\n got %q\nwant %q", got, tc.sources)
			}
			if len(in.Skipped) != tc.skipped {
				t.Fatalf("skipped %v, want %d", in.Skipped, tc.skipped)
			}
		})
	}
}

func TestUnreadableInput(t *testing.T) {
	cases := []struct{ name, input, want string }{
		{"empty", "  \n", "empty input"},
		{"broken JSON", `{"@type": `, "invalid JSON"},
		{"broken YAML", "a: [1\n", "invalid YAML"},
		{"a scalar", `"just a string"`, "expected an object or a list"},
		{"an object of no known shape", `{"name": "x"}`, "not an Envoy resource"},
		{"spec.resources not a list", `{"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig", "metadata": {"name": "e"}, "spec": {"resources": {}}}`, "spec.resources must be a list"},
		{"a resource that is not an object", `{"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig", "metadata": {"name": "e"}, "spec": {"resources": [1]}}`, "spec.resources[0]: expected an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInput("in", []byte(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitStatusAndLines(t *testing.T) {
	bad := strings.Replace(cluster, `"name": "c1"`, `"name": ""`, 1)
	missingType := `{"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig", "metadata": {"name": "e"}, "spec": {"resources": [{"name": "x"}]}}`
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		lines []string
	}{
		{name: "all valid", stdin: ccecYAML, code: 0, lines: []string{"ok envoy.config.cluster.v3.Cluster c1", "ok envoy.config.route.v3.RouteConfiguration r1"}},
		{name: "one invalid", stdin: "[" + cluster + "," + bad + "]", code: 1, lines: []string{"ok envoy.config.cluster.v3.Cluster c1", "FAIL envoy.config.cluster.v3.Cluster -: name: value length must be at least 1 runes"}},
		{name: "a resource without @type in an envoy config", stdin: missingType, code: 1, lines: []string{"FAIL - x: @type: missing or not a string"}},
		{name: "unknown top-level type", stdin: `{"@type": "type.googleapis.com/acme.Thing", "name": "t"}`, code: 1, lines: []string{`FAIL acme.Thing t: @type: unknown type "type.googleapis.com/acme.Thing"`}},
		{name: "no Envoy resources", stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", code: 2},
		{name: "unreadable", stdin: "{", code: 2},
		{name: "unknown flag", args: []string{"--strict"}, code: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			got := strings.Split(strings.TrimSpace(out), "\n")
			if len(tc.lines) == 0 {
				if strings.TrimSpace(out) != "" {
					t.Fatalf("want no stdout, got %q", out)
				}
				return
			}
			if strings.Join(got, "\n") != strings.Join(tc.lines, "\n") {
				t.Fatalf("stdout:\n%s\nwant:\n%s", out, strings.Join(tc.lines, "\n"))
			}
		})
	}
}

func TestJSONReport(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(cluster), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(cluster, `"connect_timeout": "1s"`, `"connect_timeout": "-1s"`, 1)
	code, out, _ := runCLI(t, bad, "--json", good, "-")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.OK || len(rep.Resources) != 2 || !rep.Resources[0].OK || rep.Resources[1].OK {
		t.Fatalf("report: %+v", rep)
	}
	if rep.Resources[0].Source != good || rep.Resources[1].Source != "stdin" {
		t.Fatalf("sources: %q %q", rep.Resources[0].Source, rep.Resources[1].Source)
	}
	if !anyLineHasAll(rep.Resources[1].Errors, []string{"connect_timeout", "greater than 0s"}) {
		t.Fatalf("errors: %v", rep.Resources[1].Errors)
	}

	code, out, _ = runCLI(t, "{", "--json")
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	rep = Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.OK || rep.Error == "" {
		t.Fatalf("usage error report: %v %s", err, out)
	}
}
