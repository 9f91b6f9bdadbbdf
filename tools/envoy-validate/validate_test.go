package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

func listenerFixture(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/listener-ext-authz.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// mutate applies one textual edit to the fixture and fails the test if the
// edit did not apply, so a drifting fixture cannot turn a case into a no-op.
func mutate(t *testing.T, doc, from, to string) string {
	t.Helper()
	if !strings.Contains(doc, from) {
		t.Fatalf("fixture has no %q", from)
	}
	return strings.Replace(doc, from, to, 1)
}

const (
	extAuthzType = `"@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"`
	hcmType      = `"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"`
)

func TestEnvoyRules(t *testing.T) {
	base := listenerFixture(t)
	cases := []struct {
		name string
		doc  string
		// every fragment must appear in one error line; none means valid
		want []string
	}{
		{name: "a Listener with an ext_authz filter is valid", doc: base},
		{
			name: "ext_authz max_request_bytes 0 inside typed_config is refused",
			doc:  mutate(t, base, `"max_request_bytes": 60000`, `"max_request_bytes": 0`),
			want: []string{
				"filter_chains[0].filters[0].typed_config<HttpConnectionManager>.http_filters[0].typed_config<ExtAuthz>.with_request_body.max_request_bytes",
				"greater than 0",
			},
		},
		{
			name: "an HttpConnectionManager with an empty stat_prefix is refused",
			doc:  mutate(t, base, `"stat_prefix": "casa"`, `"stat_prefix": ""`),
			want: []string{"typed_config<HttpConnectionManager>.stat_prefix", "at least 1"},
		},
		{
			name: "a rule inside a typed_per_filter_config map value is checked",
			doc:  mutate(t, base, `"check_settings": {`, `"x_unused": {`),
			want: []string{`unknown field "x_unused"`},
		},
		{
			name: "a required oneof inside typed_per_filter_config is checked",
			doc: withValue(t, base, map[string]any{
				"@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute",
			}, "filter_chains", 0, "filters", 0, "typed_config", "route_config", "virtual_hosts", 0,
				"routes", 0, "typed_per_filter_config", "envoy.filters.http.ext_authz"),
			want: []string{"typed_per_filter_config[envoy.filters.http.ext_authz]<ExtAuthzPerRoute>.override", "required"},
		},
		{
			name: "an unknown field is refused and named",
			doc:  mutate(t, base, `"failure_mode_allow": false`, `"failure_mode_alow": false`),
			want: []string{`unknown field "failure_mode_alow"`},
		},
		{
			name: "an unknown nested @type is refused",
			doc:  mutate(t, base, extAuthzType, `"@type": "type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope"`),
			want: []string{"envoy.extensions.filters.http.nope.v3.Nope"},
		},
		{
			name: "a rule on the top-level resource is checked",
			doc:  mutate(t, base, `"port_value": 10000`, `"port_value": 70000`),
			want: []string{"address.socket_address.port_value", "less than or equal to 65535"},
		},
		{
			name: "a repeated-field rule names the index",
			doc:  mutate(t, base, `"domains": [`, `"domains": ["bad\nhost", `),
			want: []string{"virtual_hosts[0].domains[0]", "regex"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ValidateResource(Resource{Source: "test", JSON: []byte(tc.doc)})
			if len(tc.want) == 0 {
				if !res.OK || len(res.Errors) > 0 {
					t.Fatalf("want valid, got %v", res.Errors)
				}
				if res.Type != "envoy.config.listener.v3.Listener" || res.Name != "casa-egress" {
					t.Fatalf("type/name: %s %s", res.Type, res.Name)
				}
				return
			}
			if res.OK {
				t.Fatalf("want invalid, got ok")
			}
			if !anyLineHasAll(res.Errors, tc.want) {
				t.Fatalf("no error line holds %q:\n%s", tc.want, strings.Join(res.Errors, "\n"))
			}
		})
	}
}

func TestEveryViolationIsReported(t *testing.T) {
	doc := mutate(t, listenerFixture(t), `"max_request_bytes": 60000`, `"max_request_bytes": 0`)
	doc = mutate(t, doc, `"stat_prefix": "casa"`, `"stat_prefix": ""`)
	res := ValidateResource(Resource{JSON: []byte(doc)})
	if len(res.Errors) != 2 {
		t.Fatalf("want 2 errors, got %d: %v", len(res.Errors), res.Errors)
	}
}

func TestTypedStructIsUnpacked(t *testing.T) {
	for _, wrapper := range []string{"xds.type.v3.TypedStruct", "udpa.type.v1.TypedStruct"} {
		t.Run(wrapper, func(t *testing.T) {
			doc := func(bytes int) string {
				return `{"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
				  "name": "casa-authz",
				  "typed_config": {"@type": "type.googleapis.com/` + wrapper + `",
				    "type_url": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
				    "value": {"grpc_service": {"envoy_grpc": {"cluster_name": "c"}},
				              "with_request_body": {"max_request_bytes": ` + strconv.Itoa(bytes) + `}}}}`
			}
			if res := ValidateResource(Resource{JSON: []byte(doc(1024))}); !res.OK {
				t.Fatalf("valid TypedStruct refused: %v", res.Errors)
			}
			res := ValidateResource(Resource{JSON: []byte(doc(0))})
			if res.OK || !anyLineHasAll(res.Errors, []string{"typed_config<TypedStruct>.value<ExtAuthz>.with_request_body.max_request_bytes"}) {
				t.Fatalf("want the nested rule, got %v", res.Errors)
			}
		})
	}
}

func TestOtherResourceTypes(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "a Cluster with valid upstream HTTP protocol options",
			doc: `{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "casa-authz",
			  "type": "STATIC", "connect_timeout": "1s",
			  "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
			    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
			    "explicit_http_config": {"http2_protocol_options": {}}}},
			  "load_assignment": {"cluster_name": "casa-authz", "endpoints": [{"lb_endpoints": [
			    {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 7001}}}}]}]}}`,
		},
		{
			name: "upstream protocol options without a protocol are refused",
			doc: `{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "casa-authz",
			  "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
			    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"}}}`,
			want: []string{"typed_extension_protocol_options[envoy.extensions.upstreams.http.v3.HttpProtocolOptions]<HttpProtocolOptions>.upstream_protocol_options", "required"},
		},
		{
			name: "a ClusterLoadAssignment is named by cluster_name",
			doc:  `{"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "cluster_name": ""}`,
			want: []string{"cluster_name", "at least 1"},
		},
		{
			name: "a resource without @type is refused",
			doc:  `{"name": "x"}`,
			want: []string{"@type"},
		},
		{
			name: "a non-string @type is refused",
			doc:  `{"@type": 7}`,
			want: []string{"@type"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ValidateResource(Resource{JSON: []byte(tc.doc)})
			if len(tc.want) == 0 {
				if !res.OK {
					t.Fatalf("want valid, got %v", res.Errors)
				}
				return
			}
			if res.OK || !anyLineHasAll(res.Errors, tc.want) {
				t.Fatalf("no error line holds %q: %v", tc.want, res.Errors)
			}
		})
	}
}

// withValue sets the value at path (object keys and list indexes) in a JSON document.
func withValue(t *testing.T, doc string, value any, path ...any) string {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	node := root
	for i, step := range path {
		last := i == len(path)-1
		switch k := step.(type) {
		case string:
			m, ok := node.(map[string]any)
			if !ok {
				t.Fatalf("path %v: no object at %v", path, step)
			}
			if last {
				m[k] = value
			} else {
				node = m[k]
			}
		case int:
			l, ok := node.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("path %v: no list item at %v", path, step)
			}
			if last {
				l[k] = value
			} else {
				node = l[k]
			}
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func anyLineHasAll(lines, fragments []string) bool {
	for _, l := range lines {
		all := true
		for _, f := range fragments {
			all = all && strings.Contains(l, f)
		}
		if all {
			return true
		}
	}
	return false
}
