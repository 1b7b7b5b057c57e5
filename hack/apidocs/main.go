// Command apidocs writes docs/api-reference.md from the generated CRDs, so the
// API reference is the Go doc comments and validation markers of
// api/v1alpha1, always current (make generate runs it; make verify checks it).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	crdDir := flag.String("crds", "config/crd/bases", "Directory of CRD YAML files.")
	out := flag.String("out", "docs/api-reference.md", "Markdown file to write.")
	flag.Parse()
	if err := run(*crdDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "apidocs:", err)
		os.Exit(1)
	}
}

func run(crdDir, out string) error {
	crds, err := readCRDs(crdDir)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# API reference\n\n")
	b.WriteString("Generated from `config/crd/bases` by `make generate`; edit the Go doc comments and\n")
	b.WriteString("markers in `api/v1alpha1`, not this file. Rules are enforced by the API server at\n")
	b.WriteString("admission, so an object that breaks one is refused with the field named.\n\n")
	for _, crd := range crds {
		writeCRD(&b, crd)
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

// kindOrder lists the kinds in the order a reader meets them.
var kindOrder = []string{"OktaSAMLApp", "SSOBinding", "AccountSync"}

func readCRDs(dir string) ([]apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var crds []apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		crds = append(crds, crd)
	}
	rank := func(kind string) int {
		if i := slices.Index(kindOrder, kind); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	sort.SliceStable(crds, func(i, j int) bool { return rank(crds[i].Spec.Names.Kind) < rank(crds[j].Spec.Names.Kind) })
	return crds, nil
}

func writeCRD(b *strings.Builder, crd apiextensionsv1.CustomResourceDefinition) {
	names := crd.Spec.Names
	for _, v := range crd.Spec.Versions {
		schema := v.Schema.OpenAPIV3Schema
		fmt.Fprintf(b, "## %s\n\n", names.Kind)
		fmt.Fprintf(b, "`%s/%s`, namespaced; short name `%s`; category `%s`.\n\n",
			crd.Spec.Group, v.Name, strings.Join(names.ShortNames, "`, `"), strings.Join(names.Categories, "`, `"))
		fmt.Fprintf(b, "%s\n\n", oneLine(schema.Description))
		for _, part := range []string{"spec", "status"} {
			prop, ok := schema.Properties[part]
			if !ok {
				continue
			}
			fmt.Fprintf(b, "### %s\n\n", part)
			for _, rule := range prop.XValidations {
				fmt.Fprintf(b, "- Rule: %s.\n", rule.Message)
			}
			if len(prop.XValidations) > 0 {
				b.WriteString("\n")
			}
			b.WriteString("| Field | Type | Default | Validation | Description |\n|---|---|---|---|---|\n")
			writeFields(b, "", prop)
			b.WriteString("\n")
		}
	}
}

// writeFields writes one table row per field, depth first, in name order.
func writeFields(b *strings.Builder, prefix string, s apiextensionsv1.JSONSchemaProps) {
	for _, name := range sortedKeys(s.Properties) {
		field := s.Properties[name]
		path := prefix + name
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n",
			path, typeOf(field), defaultOf(field), cell(validationOf(field, slices.Contains(s.Required, name))), cell(oneLine(field.Description)))
		switch {
		case field.Type == "object" && len(field.Properties) > 0:
			writeFields(b, path+".", field)
		case field.Type == "array" && field.Items != nil && field.Items.Schema != nil && len(field.Items.Schema.Properties) > 0:
			writeFields(b, path+"[].", *field.Items.Schema)
		}
	}
}

func typeOf(s apiextensionsv1.JSONSchemaProps) string {
	switch {
	case s.Type == "array" && s.Items != nil && s.Items.Schema != nil:
		return "[]" + typeOf(*s.Items.Schema)
	case s.Type == "object" && s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil:
		return "map[string]" + typeOf(*s.AdditionalProperties.Schema)
	case s.Type == "" && s.XPreserveUnknownFields != nil:
		return "any"
	case s.Format != "":
		return s.Type + " (" + s.Format + ")"
	}
	return s.Type
}

func defaultOf(s apiextensionsv1.JSONSchemaProps) string {
	if s.Default == nil {
		return ""
	}
	return "`" + string(s.Default.Raw) + "`"
}

func validationOf(s apiextensionsv1.JSONSchemaProps, required bool) string {
	var rules []string
	if required {
		rules = append(rules, "required")
	}
	if len(s.Enum) > 0 {
		values := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			values[i] = strings.Trim(string(e.Raw), `"`)
		}
		rules = append(rules, "one of "+strings.Join(values, ", "))
	}
	if s.Minimum != nil {
		rules = append(rules, fmt.Sprintf("≥ %g", *s.Minimum))
	}
	if s.Maximum != nil {
		rules = append(rules, fmt.Sprintf("≤ %g", *s.Maximum))
	}
	if s.MinLength != nil && *s.MinLength > 0 {
		rules = append(rules, fmt.Sprintf("%d+ chars", *s.MinLength))
	}
	if s.MaxLength != nil {
		rules = append(rules, fmt.Sprintf("≤ %d chars", *s.MaxLength))
	}
	if s.Pattern != "" {
		rules = append(rules, "pattern `"+s.Pattern+"`")
	}
	if s.MaxItems != nil {
		rules = append(rules, fmt.Sprintf("≤ %d items", *s.MaxItems))
	}
	if s.XListType != nil && *s.XListType == "map" {
		rules = append(rules, "unique by "+strings.Join(s.XListMapKeys, "+"))
	}
	for _, r := range s.XValidations {
		rules = append(rules, r.Message)
	}
	return strings.Join(rules, "; ")
}

func sortedKeys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cell makes text safe inside a Markdown table cell.
var cell = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace
