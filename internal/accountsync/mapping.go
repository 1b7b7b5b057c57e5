package accountsync

import (
	"fmt"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
)

// Mapping is one attribute mapping, compiled: the SCIM attribute it sets and
// the CEL expression over user (the Okta profile) and appUser (the app-user
// profile) that gives its value.
type Mapping struct {
	Target string
	// CreateOnly sets the attribute when the account is created, never after.
	CreateOnly bool
	program    cel.Program
	// user and appUser are what the expression reads of each profile.
	user, appUser reads
}

// reads are the fields an expression selects of a variable; whole when it
// uses the variable other than by field (user["x"], "x" in user).
type reads struct {
	fields []string
	whole  bool
}

// MappingSpec is a mapping as written in spec.attributeMappings.
type MappingSpec struct {
	Target, Expression string
	CreateOnly         bool
}

// CompileError says which mapping did not compile, and the compiler's words.
type CompileError struct {
	Index   int
	Target  string
	Message string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("attributeMappings[%d] (%s): %s", e.Index, e.Target, e.Message)
}

// celEnv is the language the mappings are written in: Kubernetes' CEL with
// the strings extension (lowerAscii, split, ...), user and appUser as maps.
func celEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("user", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("appUser", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
	)
}

// Compile type-checks and compiles the mappings once (per generation of
// the AccountSync); the first that fails is returned as a CompileError.
func Compile(specs []MappingSpec) ([]Mapping, error) {
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	out := make([]Mapping, 0, len(specs))
	for i, s := range specs {
		ast, issues := env.Compile(s.Expression)
		if issues != nil && issues.Err() != nil {
			return nil, &CompileError{Index: i, Target: s.Target, Message: issues.Err().Error()}
		}
		program, err := env.Program(ast, cel.CostLimit(100000))
		if err != nil {
			return nil, &CompileError{Index: i, Target: s.Target, Message: err.Error()}
		}
		out = append(out, Mapping{Target: s.Target, CreateOnly: s.CreateOnly, program: program,
			user: readsOf(ast, "user"), appUser: readsOf(ast, "appUser")})
	}
	return out, nil
}

// readsOf reads, from the checked expression, which fields of variable it
// selects; any other use of the variable needs the whole profile.
func readsOf(checked *cel.Ast, variable string) reads {
	var r reads
	root := celast.NavigateAST(checked.NativeRep())
	for _, ident := range celast.MatchDescendants(root, celast.KindMatcher(celast.IdentKind)) {
		if ident.AsIdent() != variable {
			continue
		}
		parent, ok := ident.Parent()
		if !ok || parent.Kind() != celast.SelectKind {
			return reads{whole: true}
		}
		r.fields = append(r.fields, parent.AsSelect().FieldName())
	}
	return r
}

// ProfileFields are the Okta profile attributes a run needs: those the
// mappings read, and extra (the match attribute, the login); nil, meaning
// all of them, when a mapping reads the profile other than by field name.
func ProfileFields(mappings []Mapping, extra ...string) map[string]bool {
	return fieldsRead(mappings, func(m Mapping) reads { return m.user }, extra)
}

// AppProfileFields are the app-user profile attributes the mappings read;
// nil when one reads the profile other than by field name.
func AppProfileFields(mappings []Mapping) map[string]bool {
	return fieldsRead(mappings, func(m Mapping) reads { return m.appUser }, nil)
}

func fieldsRead(mappings []Mapping, of func(Mapping) reads, extra []string) map[string]bool {
	fields := map[string]bool{}
	for _, f := range extra {
		fields[f] = true
	}
	for _, m := range mappings {
		r := of(m)
		if r.whole {
			return nil
		}
		for _, f := range r.fields {
			fields[f] = true
		}
	}
	return fields
}

// eval runs one mapping for one user; an error (a missing attribute, a
// wrong type) fails that user only.
func (m Mapping) eval(user, appUser map[string]any) (any, error) {
	if appUser == nil {
		appUser = map[string]any{}
	}
	val, _, err := m.program.Eval(map[string]any{"user": user, "appUser": appUser})
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", m.Target, err)
	}
	return native(val)
}

// native turns a CEL value into JSON-able Go.
func native(v ref.Val) (any, error) {
	switch v.Type() {
	case types.StringType, types.BoolType, types.IntType, types.UintType, types.DoubleType, types.NullType:
		return v.Value(), nil
	case types.ListType:
		return v.ConvertToNative(typeOfSlice)
	case types.MapType:
		return v.ConvertToNative(typeOfMap)
	}
	return nil, fmt.Errorf("a mapping gave a %s, not a string, number, boolean, list or map", v.Type().TypeName())
}
