package accountsync

import "testing"

// FuzzMappings compiles any expression a person might write into an
// AccountSync's attributeMappings and evaluates it over a user: it is
// refused, or it gives a value or an error, within CEL's cost limit, and
// never panics or runs away.
func FuzzMappings(f *testing.F) {
	for _, seed := range []string{
		`user.email`, `user.firstName + " " + user.lastName`, `appUser.role`, `has(user.title) ? user.title : "none"`,
		`user.email.lowerAscii().split("@")[0]`, `[1, 2, 3].map(x, [1, 2, 3].map(y, x * y))`, `size(user)`,
		`user.missing.deeper`, `1 / 0`, `"a" * 3`, `[[[[[[[[[[1]]]]]]]]]]`, `user.email.matches("(a+)+$")`,
		`{"k": user}`, `dyn(user).nonesuch()`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expression string) {
		if len(expression) > 4096 { // the CRD's limit on an expression
			return
		}
		mappings, err := Compile([]MappingSpec{{Target: "displayName", Expression: expression}})
		if err != nil {
			return
		}
		user := map[string]any{"email": "ann@example.com", "firstName": "Ann", "lastName": "Lee", "title": nil}
		_, _ = mappings[0].eval(user, map[string]any{"role": "admin"})
		_ = ProfileFields(mappings)
	})
}
