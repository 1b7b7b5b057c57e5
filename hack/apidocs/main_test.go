package main

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
)

func TestValidationOf(t *testing.T) {
	tests := map[string]struct {
		schema   apiextensionsv1.JSONSchemaProps
		required bool
		want     string
	}{
		"nothing":       {want: ""},
		"required only": {required: true, want: "required"},
		"enum": {
			schema: apiextensionsv1.JSONSchemaProps{Enum: []apiextensionsv1.JSON{{Raw: []byte(`"Delete"`)}, {Raw: []byte(`"Orphan"`)}}},
			want:   "one of Delete, Orphan",
		},
		"range": {
			schema: apiextensionsv1.JSONSchemaProps{Minimum: ptr.To(2.0), Maximum: ptr.To(10.0)},
			want:   "≥ 2; ≤ 10",
		},
		"string limits, pattern and CEL": {
			schema: apiextensionsv1.JSONSchemaProps{MinLength: ptr.To[int64](1), MaxLength: ptr.To[int64](100), Pattern: "^[a-z]+$",
				XValidations: apiextensionsv1.ValidationRules{{Message: "must be https"}}},
			required: true,
			want:     "required; 1+ chars; ≤ 100 chars; pattern `^[a-z]+$`; must be https",
		},
		"map list": {
			schema: apiextensionsv1.JSONSchemaProps{MaxItems: ptr.To[int64](5), XListType: ptr.To("map"), XListMapKeys: []string{"kind", "name"}},
			want:   "≤ 5 items; unique by kind+name",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := validationOf(tc.schema, tc.required); got != tc.want {
				t.Errorf("validationOf() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTypeOf(t *testing.T) {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	tests := map[string]struct {
		schema apiextensionsv1.JSONSchemaProps
		want   string
	}{
		"plain":     {schema: str, want: "string"},
		"formatted": {schema: apiextensionsv1.JSONSchemaProps{Type: "integer", Format: "int32"}, want: "integer (int32)"},
		"array":     {schema: apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &str}}, want: "[]string"},
		"map":       {schema: apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Schema: &str}}, want: "map[string]string"},
		"free-form": {schema: apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: ptr.To(true)}, want: "any"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := typeOf(tc.schema); got != tc.want {
				t.Errorf("typeOf() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCell(t *testing.T) {
	if got, want := cell("a|b <name>"), `a\|b &lt;name&gt;`; got != want {
		t.Errorf("cell() = %q, want %q", got, want)
	}
}
