package main

// Validating one resource the way Envoy (and Cilium, which parses envoy
// configs with go-control-plane) does: strict protojson, then the
// protoc-gen-validate rules. PGV's generated ValidateAll() stops at every
// google.protobuf.Any, so each Any is unpacked and validated here, recursively.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	udpatype "github.com/cncf/xds/go/udpa/type/v1"
	xdstype "github.com/cncf/xds/go/xds/type/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Result is the verdict on one resource.
type Result struct {
	Source string   `json:"source"`
	Type   string   `json:"type"`
	Name   string   `json:"name"`
	OK     bool     `json:"ok"`
	Errors []string `json:"errors,omitempty"`
}

const typeURLPrefix = "type.googleapis.com/"

// maxAnyDepth bounds Any-in-Any recursion (Envoy configs nest a handful deep).
const maxAnyDepth = 32

// ValidateResource checks one `@type`-tagged resource in JSON form.
func ValidateResource(r Resource) Result {
	res := Result{Source: r.Source, Name: "-"}
	var head struct {
		Type        any    `json:"@type"`
		Name        string `json:"name"`
		ClusterName string `json:"cluster_name"`
	}
	_ = json.Unmarshal(r.JSON, &head)
	// Until the resource decodes, name it from the raw JSON.
	for _, n := range []string{head.Name, head.ClusterName} {
		if n != "" {
			res.Name = n
			break
		}
	}
	typeURL, _ := head.Type.(string)
	if typeURL == "" {
		res.Type = "-"
		res.Errors = []string{"@type: missing or not a string"}
		return res
	}
	res.Type = strings.TrimPrefix(typeURL, typeURLPrefix)
	if _, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL); err != nil {
		res.Errors = []string{fmt.Sprintf("@type: unknown type %q", typeURL)}
		return res
	}
	var wrapped anypb.Any
	if err := protojson.Unmarshal(r.JSON, &wrapped); err != nil {
		res.Errors = []string{jsonError(err)}
		return res
	}
	msg, err := wrapped.UnmarshalNew()
	if err != nil {
		res.Errors = []string{"decode: " + err.Error()}
		return res
	}
	res.Type = string(msg.ProtoReflect().Descriptor().FullName())
	res.Name = resourceName(msg.ProtoReflect())
	res.Errors = checkMessage(msg, "", 0)
	res.OK = len(res.Errors) == 0
	return res
}

// The position protojson reports is in a re-encoded copy of the resource,
// not in the user's file, so it is dropped; the message names the field.
var jsonPosition = regexp.MustCompile(`^proto:\s*(\(line \d+:\d+\):\s*)?`)

func jsonError(err error) string {
	return "json: " + jsonPosition.ReplaceAllString(err.Error(), "")
}

// checkMessage runs the message's own rules, then every Any below it.
func checkMessage(msg proto.Message, path string, depth int) []string {
	var out []string
	if v, ok := msg.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			describe(err, msg.ProtoReflect().Descriptor(), path, &out)
		}
	}
	walk(msg.ProtoReflect(), path, depth, &out)
	return out
}

// walk finds the google.protobuf.Any values under m (singular, repeated and
// map fields) and checks what each one holds.
func walk(m protoreflect.Message, path string, depth int, out *[]string) {
	fields := make([]protoreflect.FieldDescriptor, 0, 8)
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fields = append(fields, fd)
		return true
	})
	// Range order is unspecified; sort for stable output.
	sort.Slice(fields, func(i, j int) bool { return fields[i].Number() < fields[j].Number() })
	for _, fd := range fields {
		v := m.Get(fd)
		name := join(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			keys := make([]protoreflect.MapKey, 0, v.Map().Len())
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			for _, k := range keys {
				visit(v.Map().Get(k).Message(), fmt.Sprintf("%s[%s]", name, k.String()), depth, out)
			}
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			for i := 0; i < v.List().Len(); i++ {
				visit(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", name, i), depth, out)
			}
		case fd.Message() != nil:
			visit(v.Message(), name, depth, out)
		}
	}
}

func visit(m protoreflect.Message, path string, depth int, out *[]string) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		checkAny(a, path, depth+1, out)
		return
	}
	walk(m, path, depth, out)
}

// checkAny unpacks an Any (and the TypedStruct form Envoy also accepts) and
// validates what it holds; an unresolvable type is an error, as in Envoy.
func checkAny(a *anypb.Any, path string, depth int, out *[]string) {
	if depth > maxAnyDepth {
		*out = append(*out, path+": Any nested deeper than "+fmt.Sprint(maxAnyDepth))
		return
	}
	if a.GetTypeUrl() == "" {
		// An empty Any is what an unset typed_config looks like when a rule
		// does not require it; Envoy treats it as absent.
		if len(a.GetValue()) > 0 {
			*out = append(*out, path+": Any with a value but no type_url")
		}
		return
	}
	inner, err := a.UnmarshalNew()
	if err != nil {
		*out = append(*out, fmt.Sprintf("%s: cannot unpack %q: %v", path, a.GetTypeUrl(), err))
		return
	}
	label := fmt.Sprintf("%s<%s>", path, shortName(inner))
	if typeURL, value, ok := typedStruct(inner); ok {
		unpacked, err := fromStruct(typeURL, value)
		if err != nil {
			*out = append(*out, fmt.Sprintf("%s.value: %v", label, err))
			return
		}
		inner = unpacked
		label = fmt.Sprintf("%s.value<%s>", label, shortName(inner))
	}
	*out = append(*out, checkMessage(inner, label, depth)...)
}

// typedStruct recognises xds.type.v3.TypedStruct and udpa.type.v1.TypedStruct:
// a config given as JSON (Struct) plus the type it must parse into.
func typedStruct(m proto.Message) (string, *structpb.Struct, bool) {
	switch t := m.(type) {
	case *xdstype.TypedStruct:
		return t.GetTypeUrl(), t.GetValue(), true
	case *udpatype.TypedStruct:
		return t.GetTypeUrl(), t.GetValue(), true
	}
	return "", nil, false
}

func fromStruct(typeURL string, value *structpb.Struct) (proto.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
	if err != nil {
		return nil, fmt.Errorf("unknown type %q", typeURL)
	}
	js, err := protojson.Marshal(value)
	if err != nil {
		return nil, err
	}
	msg := mt.New().Interface()
	if err := protojson.Unmarshal(js, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func shortName(m proto.Message) string {
	return string(m.ProtoReflect().Descriptor().Name())
}

// resourceName is the name xDS keys the resource by.
func resourceName(m protoreflect.Message) string {
	for _, field := range []protoreflect.Name{"name", "cluster_name"} {
		fd := m.Descriptor().Fields().ByName(field)
		if fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
			if s := m.Get(fd).String(); s != "" {
				return s
			}
		}
	}
	return "-"
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
