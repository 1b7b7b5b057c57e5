package assign

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	t0  = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	eng = Ref{Group, "00gEng"}
	ops = Ref{Group, "00gOps"}
	hr  = Ref{Group, "00gHR"}
	ann = Ref{User, "00uAnn"}
	bob = Ref{User, "00uBob"}
)

func prio(n int) *int { return &n }

func direct(profile map[string]any) Assignment { return Assignment{Direct: true, Profile: profile} }

func TestMerge(t *testing.T) {
	additive := func(key string, age int, refs ...Ref) Binding {
		return Binding{Key: key, Created: t0.Add(time.Duration(age) * time.Minute), Subjects: refs}
	}
	tests := map[string]struct {
		bindings  []Binding
		current   map[Ref]Assignment
		made      []Ref
		assign    []Want
		remove    []Removal
		conflicts map[string][]Conflict
		madeAfter []Ref
	}{
		"a new binding assigns its subjects and records them": {
			bindings:  []Binding{additive("ns/a", 0, eng, ann)},
			current:   map[Ref]Assignment{},
			assign:    []Want{{Ref: eng, By: "ns/a"}, {Ref: ann, By: "ns/a"}},
			madeAfter: []Ref{eng, ann},
		},
		"an idle pass changes nothing": {
			bindings:  []Binding{additive("ns/a", 0, eng, ann)},
			current:   map[Ref]Assignment{eng: {}, ann: direct(nil)},
			made:      []Ref{eng, ann},
			madeAfter: []Ref{eng, ann},
		},
		"additive leaves a hand-made assignment alone": {
			bindings:  []Binding{additive("ns/a", 0, eng)},
			current:   map[Ref]Assignment{eng: {}, ops: {}, bob: direct(nil)},
			made:      []Ref{eng},
			madeAfter: []Ref{eng},
		},
		"a subject that already had a hand-made assignment is not taken over": {
			bindings: []Binding{additive("ns/a", 0, eng)},
			current:  map[Ref]Assignment{eng: {}},
		},
		"a subject dropped from a list is removed on the binding that listed it": {
			bindings:  []Binding{additive("ns/a", 0, eng), {Key: "ns/b", Created: t0.Add(time.Minute), Subjects: []Ref{hr}, Previous: []Ref{hr, ops}}},
			current:   map[Ref]Assignment{eng: {}, hr: {}, ops: {}},
			made:      []Ref{eng, hr, ops},
			remove:    []Removal{{Ref: ops, By: "ns/b"}},
			madeAfter: []Ref{eng, hr},
		},
		"a subject dropped from the list is removed": {
			bindings:  []Binding{additive("ns/a", 0, eng)},
			current:   map[Ref]Assignment{eng: {}, ops: {}},
			made:      []Ref{eng, ops},
			remove:    []Removal{{Ref: ops, By: "ns/a"}},
			madeAfter: []Ref{eng},
		},
		"two bindings share a group: deleting one keeps it": {
			bindings:  []Binding{{Key: "ns/a", Created: t0, Subjects: []Ref{eng}, Deleting: true}, additive("ns/b", 1, eng)},
			current:   map[Ref]Assignment{eng: {}},
			made:      []Ref{eng},
			madeAfter: []Ref{eng},
		},
		"deleting the last binding that grants a group removes it": {
			bindings: []Binding{{Key: "ns/b", Created: t0, Subjects: []Ref{eng}, Deleting: true}},
			current:  map[Ref]Assignment{eng: {}},
			made:     []Ref{eng},
			remove:   []Removal{{Ref: eng, By: "ns/b"}},
		},
		"authoritative removes hand-made assignments, not group-reached users": {
			bindings: []Binding{{Key: "ns/a", Created: t0, Authoritative: true, Subjects: []Ref{eng}}},
			current:  map[Ref]Assignment{eng: {}, ops: {}, bob: direct(nil), ann: {Direct: false}},
			made:     []Ref{eng},
			remove: []Removal{
				{Ref: ops, By: "ns/a", HandMade: true},
				{Ref: bob, By: "ns/a", HandMade: true},
			},
			madeAfter: []Ref{eng},
		},
		"authoritative keeps what an additive binding on the same app grants": {
			bindings:  []Binding{{Key: "ns/a", Created: t0, Authoritative: true, Subjects: []Ref{eng}}, additive("ns/b", 1, ops)},
			current:   map[Ref]Assignment{eng: {}, ops: {}, hr: {}},
			made:      []Ref{eng, ops},
			remove:    []Removal{{Ref: hr, By: "ns/a", HandMade: true}},
			madeAfter: []Ref{eng, ops},
		},
		"the oldest binding wins a profile conflict; the other reports it": {
			bindings: []Binding{
				{Key: "ns/new", Created: t0.Add(time.Hour), Subjects: []Ref{ann}, Profile: map[string]any{"role": "Admin"}},
				{Key: "ns/old", Created: t0, Subjects: []Ref{ann}, Profile: map[string]any{"role": "Editor"}},
			},
			current:   map[Ref]Assignment{ann: direct(map[string]any{"role": "Editor"})},
			made:      []Ref{ann},
			conflicts: map[string][]Conflict{"ns/new": {{Ref: ann, Winner: "ns/old"}}},
			madeAfter: []Ref{ann},
		},
		"a priority conflict on a group": {
			bindings: []Binding{
				{Key: "ns/a", Created: t0, Subjects: []Ref{eng}, Priority: prio(0)},
				{Key: "ns/b", Created: t0.Add(time.Minute), Subjects: []Ref{eng}, Priority: prio(5)},
			},
			current:   map[Ref]Assignment{eng: {Priority: prio(0)}},
			made:      []Ref{eng},
			conflicts: map[string][]Conflict{"ns/b": {{Ref: eng, Winner: "ns/a"}}},
			madeAfter: []Ref{eng},
		},
		"a profile in Okta's types is the same profile": {
			bindings:  []Binding{{Key: "ns/a", Created: t0, Subjects: []Ref{ann}, Profile: map[string]any{"admin": true, "seats": float64(3), "role": "Editor"}}},
			current:   map[Ref]Assignment{ann: direct(map[string]any{"admin": "true", "seats": "3", "role": "Editor", "locale": "en_US"})},
			made:      []Ref{ann},
			madeAfter: []Ref{ann},
		},
		"a changed profile is written again": {
			bindings:  []Binding{{Key: "ns/a", Created: t0, Subjects: []Ref{ann}, Profile: map[string]any{"role": "Admin"}}},
			current:   map[Ref]Assignment{ann: direct(map[string]any{"role": "Editor"})},
			made:      []Ref{ann},
			assign:    []Want{{Ref: ann, Profile: map[string]any{"role": "Admin"}, By: "ns/a", Update: true}},
			madeAfter: []Ref{ann},
		},
		"renumbered priorities in the asked order are left alone": {
			bindings: []Binding{
				{Key: "ns/a", Created: t0, Subjects: []Ref{eng}, Priority: prio(0)},
				{Key: "ns/b", Created: t0.Add(time.Minute), Subjects: []Ref{ops}, Priority: prio(1)},
			},
			current:   map[Ref]Assignment{eng: {Priority: prio(3)}, ops: {Priority: prio(7)}},
			made:      []Ref{eng, ops},
			madeAfter: []Ref{eng, ops},
		},
		"priorities out of the asked order are written again": {
			bindings: []Binding{
				{Key: "ns/a", Created: t0, Subjects: []Ref{eng}, Priority: prio(0)},
				{Key: "ns/b", Created: t0.Add(time.Minute), Subjects: []Ref{ops}, Priority: prio(1)},
			},
			current: map[Ref]Assignment{eng: {Priority: prio(2)}, ops: {Priority: prio(1)}},
			made:    []Ref{eng, ops},
			assign: []Want{
				{Ref: eng, Priority: prio(0), By: "ns/a", Update: true},
				{Ref: ops, Priority: prio(1), By: "ns/b", Update: true},
			},
			madeAfter: []Ref{eng, ops},
		},
		"a user who reaches the app through a group gets the direct assignment asked for": {
			bindings:  []Binding{additive("ns/a", 0, ann)},
			current:   map[Ref]Assignment{ann: {Direct: false}},
			assign:    []Want{{Ref: ann, By: "ns/a"}},
			madeAfter: []Ref{ann},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			plan := Merge(tc.bindings, tc.current, tc.made)
			opts := cmpopts.EquateEmpty()
			byRef := cmpopts.SortSlices(func(a, b Want) bool { return a.Ref.String() < b.Ref.String() })
			if diff := cmp.Diff(tc.assign, plan.Assign, opts, byRef); diff != "" {
				t.Errorf("Assign (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.remove, plan.Remove, opts, cmpopts.SortSlices(func(a, b Removal) bool { return a.Ref.String() < b.Ref.String() })); diff != "" {
				t.Errorf("Remove (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.conflicts, plan.Conflicts, opts); diff != "" {
				t.Errorf("Conflicts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.madeAfter, plan.Made, opts, cmpopts.SortSlices(func(a, b Ref) bool { return a.String() < b.String() })); diff != "" {
				t.Errorf("Made (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeIsStable(t *testing.T) {
	bindings := []Binding{{Key: "ns/a", Created: t0, Subjects: []Ref{ops, eng, hr, ann, bob}}}
	first := Merge(bindings, map[Ref]Assignment{}, nil)
	for range 20 {
		if diff := cmp.Diff(first, Merge(bindings, map[Ref]Assignment{}, nil)); diff != "" {
			t.Fatalf("the plan changed between passes:\n%s", diff)
		}
	}
}
