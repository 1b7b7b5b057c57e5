// Package argocd runs the Argo CD health checks and actions in
// config/argocd/resource_customizations with gopher-lua, the Lua engine
// Argo CD embeds, over each kind's testdata, reading health_test.yaml and
// action_test.yaml as Argo CD's own test runner does.
package argocd

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

var customizations = filepath.Join("..", "..", "config", "argocd", "resource_customizations", "sso.oktaop.io")

var kinds = []string{"OktaSAMLApp", "SSOBinding", "AccountSync", "OktaSAMLIdentityProvider"}

type healthTests struct {
	Tests []struct {
		HealthStatus struct{ Status, Message string } `json:"healthStatus"`
		InputPath    string                           `json:"inputPath"`
	} `json:"tests"`
}

type actionTests struct {
	DiscoveryTests []struct {
		InputPath string             `json:"inputPath"`
		Result    []discoveredAction `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action             string `json:"action"`
		InputPath          string `json:"inputPath"`
		ExpectedOutputPath string `json:"expectedOutputPath"`
	} `json:"actionTests"`
}

type discoveredAction struct {
	Name      string `json:"name"`
	Disabled  bool   `json:"disabled"`
	IconClass string `json:"iconClass"`
}

func TestHealth(t *testing.T) {
	for _, kind := range kinds {
		dir := filepath.Join(customizations, kind)
		var tests healthTests
		readYAML(t, filepath.Join(dir, "health_test.yaml"), &tests)
		if len(tests.Tests) < 4 {
			t.Errorf("%s: %d health tests; every state (healthy, progressing, degraded, suspended) needs one", kind, len(tests.Tests))
		}
		seen := map[string]bool{}
		for _, tc := range tests.Tests {
			t.Run(kind+"/"+tc.InputPath, func(t *testing.T) {
				got := runLua(t, filepath.Join(dir, "health.lua"), readObject(t, filepath.Join(dir, tc.InputPath))).(map[string]any)
				want := map[string]any{"status": tc.HealthStatus.Status, "message": tc.HealthStatus.Message}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("health (-want +got):\n%s", diff)
				}
			})
			seen[tc.HealthStatus.Status] = true
		}
		for _, status := range []string{"Healthy", "Progressing", "Degraded", "Suspended"} {
			if !seen[status] {
				t.Errorf("%s: no test ends %s", kind, status)
			}
		}
	}
}

// rfc3339UTC is what os.date("!%Y-%m-%dT%XZ") gives.
var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

func TestActions(t *testing.T) {
	for _, kind := range kinds {
		dir := filepath.Join(customizations, kind, "actions")
		var tests actionTests
		readYAML(t, filepath.Join(dir, "action_test.yaml"), &tests)
		for _, tc := range tests.DiscoveryTests {
			t.Run(kind+"/discovery/"+tc.InputPath, func(t *testing.T) {
				got := discovered(runLua(t, filepath.Join(dir, "action_discovery.lua"), readObject(t, filepath.Join(dir, tc.InputPath))).(map[string]any))
				if diff := cmp.Diff(tc.Result, got); diff != "" {
					t.Errorf("actions (-want +got):\n%s", diff)
				}
			})
		}
		if len(tests.ActionTests) == 0 {
			t.Errorf("%s: no action test", kind)
		}
		for _, tc := range tests.ActionTests {
			t.Run(kind+"/"+tc.Action+"/"+tc.InputPath, func(t *testing.T) {
				got := runLua(t, filepath.Join(dir, tc.Action, "action.lua"), readObject(t, filepath.Join(dir, tc.InputPath))).(map[string]any)
				want := readObject(t, filepath.Join(dir, tc.ExpectedOutputPath))
				annotations, _ := got["metadata"].(map[string]any)["annotations"].(map[string]any)
				stamped, _ := annotations["sso.oktaop.io/reconcile-requested-at"].(string)
				if !rfc3339UTC.MatchString(stamped) {
					t.Fatalf("the trigger annotation is %q, want the current time in UTC", stamped)
				}
				annotations["sso.oktaop.io/reconcile-requested-at"] = "<now>"
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("the object after %s (-want +got):\n%s", tc.Action, diff)
				}
			})
		}
	}
}

// TestEachKindHasTheSharedScripts: the per-kind copies are the sources
// (make generate writes them; this says so when they were edited by hand).
func TestEachKindHasTheSharedScripts(t *testing.T) {
	for _, kind := range kinds {
		for src, copy := range map[string]string{"health.lua": "health.lua", "actions/action_discovery.lua": "actions/action_discovery.lua",
			"actions/sync-now/action.lua": "actions/sync-now/action.lua"} {
			want, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", src))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(customizations, kind, copy))
			if err != nil || string(got) != string(want) {
				t.Errorf("%s/%s differs from config/argocd/%s (%v); run make generate", kind, copy, src, err)
			}
		}
	}
}

func discovered(actions map[string]any) []discoveredAction {
	var out []discoveredAction
	for name, v := range actions {
		fields, _ := v.(map[string]any)
		disabled, _ := fields["disabled"].(bool)
		icon, _ := fields["iconClass"].(string)
		out = append(out, discoveredAction{Name: name, Disabled: disabled, IconClass: icon})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// runLua runs a script as Argo CD does: the base, table, string and math
// libraries, os reduced to its clock functions (require("os")), and the
// object as the global obj; it returns the script's result.
func runLua(t *testing.T, script string, obj map[string]any) any {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}, {lua.LoadLibName, lua.OpenPackage}, {lua.OsLibName, lua.OpenOs}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	full := L.GetGlobal("os").(*lua.LTable)
	safe := L.NewTable()
	for _, name := range []string{"date", "time", "clock", "difftime"} {
		safe.RawSetString(name, full.RawGetString(name))
	}
	L.SetGlobal("os", lua.LNil)
	L.PreloadModule("os", func(L *lua.LState) int { L.Push(safe); return 1 })
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoFile(script); err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return fromLua(L.Get(-1))
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	}
	return lua.LNil
}

func fromLua(v lua.LValue) any {
	switch v := v.(type) {
	case *lua.LTable:
		if n := v.MaxN(); n > 0 {
			list := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				list = append(list, fromLua(v.RawGetInt(i)))
			}
			return list
		}
		m := map[string]any{}
		v.ForEach(func(k, e lua.LValue) { m[k.String()] = fromLua(e) })
		return m
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return float64(v)
	case lua.LBool:
		return bool(v)
	}
	return nil
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readObject(t *testing.T, path string) map[string]any {
	t.Helper()
	var obj map[string]any
	readYAML(t, path, &obj)
	return obj
}
