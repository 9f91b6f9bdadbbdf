// Command envoy-validate checks Envoy resources against Envoy's own
// validation rules (go-control-plane's protoc-gen-validate code), including
// every config nested in a google.protobuf.Any. It is the stand-in for Envoy
// (and Cilium, which parses envoy configs the same way) accepting what the
// agent renders and serves.
//
//	envoy-validate [--json] [FILE|-]...
//
// Input: JSON or YAML holding `@type`-tagged resources — one, a list, Cilium
// envoy configs (spec.resources[]), or a Kubernetes List / multi-document YAML
// of them. Other Kubernetes objects are skipped. No FILE (or "-") reads stdin.
//
// Output: one line per resource, "ok <type> <name>" or
// "FAIL <type> <name>: <errors>"; with --json a single JSON report instead.
// Exit status: 0 all valid, 1 some resource invalid, 2 usage or unreadable
// input (including input with no Envoy resource at all).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage: envoy-validate [--json] [FILE|-]...
Validates @type-tagged Envoy resources (JSON or YAML; single, list, Cilium
envoy configs, Kubernetes List or multi-document YAML) with Envoy's rules.
Exit 0: all valid, 1: some invalid, 2: usage or unreadable input.
`

// Report is the --json output.
type Report struct {
	OK        bool     `json:"ok"`
	Resources []Result `json:"resources"`
	Skipped   []string `json:"skipped"`
	Error     string   `json:"error,omitempty"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	asJSON := false
	var files []string
args:
	for i, a := range args {
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, usage)
			return 0
		case a == "--":
			files = append(files, args[i+1:]...)
			break args
		case a != "-" && strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "envoy-validate: unknown flag %s\n%s", a, usage)
			return 2
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 {
		files = []string{"-"}
	}

	report := Report{Resources: []Result{}, Skipped: []string{}}
	fail := func(msg string) int {
		if asJSON {
			report.Error = msg
			writeJSON(stdout, report)
		}
		fmt.Fprintln(stderr, "envoy-validate: "+msg)
		return 2
	}
	var resources []Resource
	for _, f := range files {
		name, data, err := read(f, stdin)
		if err != nil {
			return fail(err.Error())
		}
		in, err := ParseInput(name, data)
		if err != nil {
			return fail(err.Error())
		}
		resources = append(resources, in.Resources...)
		report.Skipped = append(report.Skipped, in.Skipped...)
	}
	if len(resources) == 0 {
		return fail("no Envoy resources in the input")
	}

	report.OK = true
	for _, r := range resources {
		res := ValidateResource(r)
		report.Resources = append(report.Resources, res)
		report.OK = report.OK && res.OK
	}
	if asJSON {
		writeJSON(stdout, report)
	} else {
		failed := 0
		for _, res := range report.Resources {
			if res.OK {
				fmt.Fprintf(stdout, "ok %s %s\n", res.Type, res.Name)
				continue
			}
			failed++
			fmt.Fprintf(stdout, "FAIL %s %s: %s\n", res.Type, res.Name, strings.Join(res.Errors, "; "))
			fmt.Fprintf(stderr, "envoy-validate: %s is invalid\n", res.Source)
		}
		fmt.Fprintf(stderr, "envoy-validate: %d resources, %d invalid, %d other objects skipped\n",
			len(report.Resources), failed, len(report.Skipped))
	}
	if !report.OK {
		return 1
	}
	return 0
}

func read(file string, stdin io.Reader) (string, []byte, error) {
	if file == "-" {
		data, err := io.ReadAll(stdin)
		return "stdin", data, err
	}
	data, err := os.ReadFile(file)
	return file, data, err
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
