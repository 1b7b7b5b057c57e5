// Package assign decides an app's Okta assignments from every SSOBinding
// that targets it: who should be assigned, with what priority and profile,
// what to remove, and which binding loses a conflict. It is pure: it takes
// what was read (the bindings, the app's current assignments, what the
// operator assigned before) and returns what to do, so a table test covers
// it without a cluster or an Okta org.
package assign

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Kind is Group or User.
type Kind string

// Subject kinds.
const (
	Group Kind = "Group"
	User  Kind = "User"
)

// Ref names one assignment: a group or a user by Okta ID.
type Ref struct {
	Kind Kind
	ID   string
}

func (r Ref) String() string { return string(r.Kind) + ":" + r.ID }

// Binding is one SSOBinding as the merge sees it.
type Binding struct {
	// Key identifies the binding (namespace/name) in the plan.
	Key string
	// Created orders bindings: the oldest wins a conflict.
	Created       time.Time
	Authoritative bool
	// Deleting bindings grant nothing; what only they granted is removed.
	Deleting bool
	// Subjects are the binding's resolved subjects; unresolved ones are
	// left out by the caller (and reported by it).
	Subjects []Ref
	// Previous are the subjects it resolved on the last pass (its status):
	// how a removal of a subject dropped from its list is told to it.
	Previous []Ref
	// Priority applies to the group assignments; nil leaves Okta's.
	Priority *int
	// Profile applies to every assignment.
	Profile map[string]any
}

// Assignment is what Okta holds for one group or user on the app.
type Assignment struct {
	Priority *int
	Profile  map[string]any
	// Direct is false for a user who reaches the app only through a group
	// (Okta's scope GROUP): there is no direct assignment to remove.
	Direct bool
}

// Want is an assignment to make or correct.
type Want struct {
	Ref      Ref
	Priority *int
	Profile  map[string]any
	// By is the binding the values come from (the oldest that grants it).
	By string
	// Update is true when the assignment exists with other values.
	Update bool
}

// Removal is an assignment to take off the app.
type Removal struct {
	Ref Ref
	// By is the binding to report the removal on: the Authoritative binding
	// that does not list it, or the binding that used to grant it.
	By string
	// HandMade is true for an assignment the operator did not make,
	// removed because an Authoritative binding does not list it.
	HandMade bool
}

// Conflict is a binding that asks for a subject with other values than the
// oldest binding granting it.
type Conflict struct {
	Ref    Ref
	Winner string
}

// Plan is what to do to the app's assignments.
type Plan struct {
	Assign  []Want
	Remove  []Removal
	Granted map[string][]Ref // by binding: the subjects it grants (winner or not)
	// Conflicts by losing binding.
	Conflicts map[string][]Conflict
	// Made is what the operator has assigned once the plan is applied: the
	// record to keep, so a later pass knows what it may remove.
	Made []Ref
}

// Merge plans the app's assignments. current is what Okta holds; made is
// the operator's record of the assignments it made on this app.
func Merge(bindings []Binding, current map[Ref]Assignment, made []Ref) Plan {
	live := liveBindings(bindings)
	winners, conflicts, granted := desired(live)
	plan := Plan{Granted: granted, Conflicts: conflicts}
	wasMade := toSet(made)
	// The record keeps what the operator made and is still granted, and
	// adds what it assigns now; a subject another binding still grants stays
	// in it after the binding that made it went.
	madeAfter := map[Ref]bool{}
	for _, ref := range sortedRefs(winners) {
		w := winners[ref]
		have, assigned := current[ref]
		switch {
		case !assigned || (ref.Kind == User && !have.Direct):
			plan.Assign = append(plan.Assign, w)
			madeAfter[ref] = true
			continue
		case !sameProfile(w.Profile, have.Profile):
			w.Update = true
			plan.Assign = append(plan.Assign, w)
		}
		if wasMade[ref] {
			madeAfter[ref] = true
		}
	}
	fixPriorityOrder(&plan, winners, current)
	plan.Remove = removals(live, current, wasMade, winners, bindings)
	plan.Made = sortedRefs(madeAfter)
	return plan
}

// liveBindings are the bindings that grant, oldest first.
func liveBindings(bindings []Binding) []Binding {
	var live []Binding
	for _, b := range bindings {
		if !b.Deleting {
			live = append(live, b)
		}
	}
	sort.SliceStable(live, func(i, j int) bool {
		if !live[i].Created.Equal(live[j].Created) {
			return live[i].Created.Before(live[j].Created)
		}
		return live[i].Key < live[j].Key
	})
	return live
}

// desired is the union of the live bindings' subjects, each with the values
// of the oldest binding that grants it; a younger binding that asks for
// other values loses with a conflict, so the two never flip-flop.
func desired(live []Binding) (map[Ref]Want, map[string][]Conflict, map[string][]Ref) {
	winners := map[Ref]Want{}
	conflicts := map[string][]Conflict{}
	granted := map[string][]Ref{}
	for _, b := range live {
		for _, ref := range b.Subjects {
			w := Want{Ref: ref, Profile: b.Profile, By: b.Key}
			if ref.Kind == Group {
				w.Priority = b.Priority
			}
			granted[b.Key] = append(granted[b.Key], ref)
			first, taken := winners[ref]
			if !taken {
				winners[ref] = w
				continue
			}
			if !equalPriority(first.Priority, w.Priority) || !sameProfile(first.Profile, w.Profile) {
				conflicts[b.Key] = append(conflicts[b.Key], Conflict{Ref: ref, Winner: first.By})
			}
		}
	}
	return winners, conflicts, granted
}

// removals: what no live binding grants and the operator made (Additive),
// or, with an Authoritative binding, everything no live binding grants.
func removals(live []Binding, current map[Ref]Assignment, wasMade map[Ref]bool, winners map[Ref]Want, all []Binding) []Removal {
	authority := ""
	for _, b := range live {
		if b.Authoritative {
			authority = b.Key
			break
		}
	}
	var out []Removal
	for _, ref := range sortedRefs(current) {
		have := current[ref]
		if _, wanted := winners[ref]; wanted || (ref.Kind == User && !have.Direct) {
			continue
		}
		switch {
		case wasMade[ref]:
			by := authority
			if by == "" {
				by = formerGranter(all, ref)
			}
			out = append(out, Removal{Ref: ref, By: by})
		case authority != "":
			out = append(out, Removal{Ref: ref, By: authority, HandMade: true})
		}
	}
	return out
}

// formerGranter is the binding that listed ref: one being deleted, else one
// that dropped it since its last pass, else (a record older than every
// status) the oldest binding.
func formerGranter(all []Binding, ref Ref) string {
	for _, listed := range []func(Binding) []Ref{
		func(b Binding) []Ref { return b.Subjects },
		func(b Binding) []Ref { return b.Previous },
	} {
		for _, b := range all {
			for _, s := range listed(b) {
				if s == ref {
					return b.Key
				}
			}
		}
	}
	if oldest := liveBindings(all); len(oldest) > 0 {
		return oldest[0].Key
	}
	if len(all) > 0 {
		return all[0].Key
	}
	return ""
}

// fixPriorityOrder compares the order the bindings ask for, not Okta's
// numbers: Okta renumbers group priorities as groups come and go, so a
// group at 3 where 1 was asked is fine while the order holds. When the
// order is broken, every group with a requested priority is written again.
func fixPriorityOrder(plan *Plan, winners map[Ref]Want, current map[Ref]Assignment) {
	var ordered []Want
	for _, w := range winners {
		if have, ok := current[w.Ref]; ok && w.Ref.Kind == Group && w.Priority != nil && have.Priority != nil {
			ordered = append(ordered, w)
		}
	}
	sort.Slice(ordered, func(i, j int) bool {
		if *ordered[i].Priority != *ordered[j].Priority {
			return *ordered[i].Priority < *ordered[j].Priority
		}
		return ordered[i].Ref.ID < ordered[j].Ref.ID
	})
	inOrder := true
	for i := 1; i < len(ordered); i++ {
		prev, next := ordered[i-1], ordered[i]
		if *prev.Priority < *next.Priority && *current[prev.Ref].Priority >= *current[next.Ref].Priority {
			inOrder = false
		}
	}
	if inOrder {
		return
	}
	queued := map[Ref]bool{}
	for _, w := range plan.Assign {
		queued[w.Ref] = true
	}
	for _, w := range ordered {
		if !queued[w.Ref] {
			w.Update = true
			plan.Assign = append(plan.Assign, w)
		}
	}
}

// sameProfile tells whether got holds every value of want. Okta answers in
// its schema's types ("true" for true, "3" for 3), so values are compared by
// their text; keys Okta adds (schema defaults) do not count.
func sameProfile(want, got map[string]any) bool {
	for k, v := range want {
		g, ok := got[k]
		if !ok || normalise(v) != normalise(g) {
			return false
		}
	}
	return true
}

func normalise(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	case bool, float64, float32, int, int32, int64, json.Number:
		return fmt.Sprint(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func equalPriority(a, b *int) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func toSet(refs []Ref) map[Ref]bool {
	out := make(map[Ref]bool, len(refs))
	for _, r := range refs {
		out[r] = true
	}
	return out
}

// sortedRefs lists a map's keys in a stable order, so a plan (and the calls
// it makes) is the same every pass.
func sortedRefs[V any](m map[Ref]V) []Ref {
	out := make([]Ref, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
