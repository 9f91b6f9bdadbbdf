package main

// Reading the input: JSON or YAML documents that hold `@type`-tagged Envoy
// resources directly, in a list, or inside Cilium envoy configs
// (spec.resources[]) and Kubernetes Lists / multi-document YAML of them.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Resource is one Envoy resource found in the input, as JSON, with where it was found.
type Resource struct {
	Source string
	JSON   []byte
}

// Input is everything found in one input: resources to validate, and the
// Kubernetes objects that hold no Envoy resources (skipped, but reported).
type Input struct {
	Resources []Resource
	Skipped   []string
}

// envoyConfigKinds hold Envoy resources under spec.resources[] (cilium.io/v2).
var envoyConfigKinds = map[string]bool{
	"CiliumEnvoyConfig":            true,
	"CiliumClusterwideEnvoyConfig": true,
}

// ParseInput splits data (named name in messages) into documents and collects
// the Envoy resources inside. An error means the input could not be read as a
// whole (bad syntax, or a document that is none of the accepted shapes).
func ParseInput(name string, data []byte) (Input, error) {
	docs, err := documents(data)
	if err != nil {
		return Input{}, fmt.Errorf("%s: %w", name, err)
	}
	var in Input
	for i, doc := range docs {
		where := name
		if len(docs) > 1 {
			where = fmt.Sprintf("%s#%d", name, i)
		}
		if err := collect(&in, doc, where); err != nil {
			return Input{}, err
		}
	}
	return in, nil
}

// documents returns each document of data as a decoded JSON value (numbers
// kept as json.Number so 64-bit integers survive). JSON input may hold several
// concatenated values; anything else is read as (multi-document) YAML.
func documents(data []byte) ([]any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty input")
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		docs, jsonErr := jsonDocuments(trimmed)
		if jsonErr == nil {
			return docs, nil
		}
		// YAML flow style also starts with { or [; try it before giving up.
		if docs, err := yamlDocuments(trimmed); err == nil {
			return docs, nil
		}
		return nil, fmt.Errorf("invalid JSON: %w", jsonErr)
	}
	return yamlDocuments(trimmed)
}

func jsonDocuments(data []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, v)
	}
}

// yamlDocuments splits with a YAML parser (not on "---" lines, which may sit
// inside block scalars) and converts each document the way Kubernetes does.
func yamlDocuments(data []byte) ([]any, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var docs []any
	for i := 0; ; i++ {
		var node yamlv3.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("invalid YAML (document %d): %w", i, err)
		}
		text, err := yamlv3.Marshal(&node)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		js, err := yaml.YAMLToJSON(text)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		// Empty documents stay (and are skipped later) so that "#N" in
		// messages is the document's position in the file.
		docs = append(docs, v)
	}
}

func collect(in *Input, v any, where string) error {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		for i, item := range t {
			if err := collect(in, item, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		return collectObject(in, t, where)
	default:
		return fmt.Errorf("%s: expected an object or a list, got %s", where, jsonKind(v))
	}
}

func collectObject(in *Input, obj map[string]any, where string) error {
	if _, ok := obj["@type"]; ok {
		return addResource(in, obj, where)
	}
	kind, _ := obj["kind"].(string)
	if items, ok := obj["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		return collect(in, items, where+" items")
	}
	if envoyConfigKinds[kind] {
		ref := kind + "/" + objectName(obj)
		spec, _ := obj["spec"].(map[string]any)
		resources, ok := spec["resources"].([]any)
		if !ok {
			if _, present := spec["resources"]; present {
				return fmt.Errorf("%s %s: spec.resources must be a list", where, ref)
			}
			in.Skipped = append(in.Skipped, fmt.Sprintf("%s %s (no spec.resources)", where, ref))
			return nil
		}
		for i, r := range resources {
			at := fmt.Sprintf("%s %s spec.resources[%d]", where, ref, i)
			m, ok := r.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: expected an object, got %s", at, jsonKind(r))
			}
			// A resource without @type is reported as a failed resource, not as
			// unreadable input: Cilium would drop just that one.
			if err := addResource(in, m, at); err != nil {
				return err
			}
		}
		return nil
	}
	if _, ok := obj["apiVersion"]; ok && kind != "" {
		in.Skipped = append(in.Skipped, fmt.Sprintf("%s %s/%s", where, kind, objectName(obj)))
		return nil
	}
	// A bare {"resources": [...]} (an xDS DiscoveryResponse or a spec) is a list.
	if resources, ok := obj["resources"].([]any); ok {
		return collect(in, resources, where+" resources")
	}
	return fmt.Errorf("%s: not an Envoy resource (no @type), a list, or a Cilium envoy config", where)
}

func addResource(in *Input, obj map[string]any, where string) error {
	js, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	in.Resources = append(in.Resources, Resource{Source: where, JSON: js})
	return nil
}

func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	if name == "" {
		return "?"
	}
	return name
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%T", v)
	}
}
