package accountsync

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/oktaop/okta-sso-operator/internal/scim"
)

// GroupPush is one Okta group to push, as the run resolved it.
type GroupPush struct {
	OktaGroupID, TargetName string
	// Members are the Okta user IDs of the group's members.
	Members []string
}

// GroupTarget is what pushing groups needs of a SCIM service provider.
type GroupTarget interface {
	ListGroups(ctx context.Context, filter string, count int) ([]scim.Resource, error)
	CreateGroup(ctx context.Context, group scim.Resource) (scim.Resource, error)
	PatchGroup(ctx context.Context, id string, ops []scim.Op) (scim.Resource, error)
}

// AccountsByUser pairs each Okta user of the run with its account: the
// matched ones and those the run created or linked.
func AccountsByUser(plan Plan, applied Applied) map[string]string {
	out := make(map[string]string, len(plan.Matched)+len(applied.Accounts))
	for _, p := range plan.Matched {
		out[p.UserID] = p.AccountID
	}
	for user, account := range applied.Accounts {
		out[user] = account
	}
	return out
}

// PushGroups keeps one SCIM Group per push: found by its externalId (the
// Okta group ID), else linked by name (as Okta's enhanced Group Push does),
// else created. Membership is patched member by member, adding the app's
// synced users who are in the Okta group and removing accounts the sync
// manages that are not; members added by other means stay. A group is never
// deleted. managed are the accounts linked to Okta users (ManagedAccounts).
// It returns how many groups it created or changed, and the pushes left
// out because a group of their name belongs to another Okta group.
func PushGroups(ctx context.Context, t GroupTarget, pushes []GroupPush, accounts map[string]string, managed map[string]bool) (int, []error, error) {
	changed := 0
	var conflicts []error
	for _, push := range pushes {
		n, err := pushGroup(ctx, t, push, accounts, managed)
		var conflict *GroupConflict
		switch {
		case errors.As(err, &conflict):
			conflicts = append(conflicts, err)
		case err != nil:
			return changed, conflicts, err
		}
		changed += n
	}
	return changed, conflicts, nil
}

// GroupConflict: the SP group of a push's name is pushed from another Okta
// group; it is never taken over.
type GroupConflict struct{ Name, OtherGroup string }

func (e *GroupConflict) Error() string {
	return fmt.Sprintf("SCIM group %q is pushed from another Okta group (%s), so it was not pushed", e.Name, e.OtherGroup)
}

func pushGroup(ctx context.Context, t GroupTarget, push GroupPush, accounts map[string]string, managed map[string]bool) (int, error) {
	want := map[string]bool{}
	for _, user := range push.Members {
		if account, ok := accounts[user]; ok {
			want[account] = true
		}
	}
	group, err := findGroup(ctx, t, push)
	if err != nil {
		return 0, err
	}
	if group == nil {
		members := make([]map[string]string, 0, len(want))
		for _, id := range sortedKeys(want) {
			members = append(members, map[string]string{"value": id})
		}
		_, err := t.CreateGroup(ctx, scim.Resource{"displayName": push.TargetName, "externalId": push.OktaGroupID, "members": members})
		return 1, err
	}
	ops := groupOps(group, push, want, managed)
	if len(ops) == 0 {
		return 0, nil
	}
	_, err = t.PatchGroup(ctx, group.ID(), ops)
	return 1, err
}

// findGroup finds the push's group by externalId, else an unlinked group of
// its name; nil when there is none. A group of the name linked to another
// Okta group is a conflict, never taken over.
func findGroup(ctx context.Context, t GroupTarget, push GroupPush) (scim.Resource, error) {
	byID, err := t.ListGroups(ctx, scim.EqFilter("externalId", push.OktaGroupID), 0)
	if err != nil || len(byID) > 0 {
		if len(byID) > 0 {
			return byID[0], nil
		}
		return nil, err
	}
	byName, err := t.ListGroups(ctx, scim.EqFilter("displayName", push.TargetName), 0)
	if err != nil || len(byName) == 0 {
		return nil, err
	}
	if ext := byName[0].ExternalID(); ext != "" && ext != push.OktaGroupID {
		return nil, &GroupConflict{Name: push.TargetName, OtherGroup: ext}
	}
	return byName[0], nil
}

// groupOps: link, rename, and the membership difference.
func groupOps(group scim.Resource, push GroupPush, want, managed map[string]bool) []scim.Op {
	var ops []scim.Op
	if group.ExternalID() != push.OktaGroupID {
		ops = append(ops, scim.Op{Op: "replace", Path: "externalId", Value: push.OktaGroupID})
	}
	if group.DisplayName() != push.TargetName {
		ops = append(ops, scim.Op{Op: "replace", Path: "displayName", Value: push.TargetName})
	}
	have := map[string]bool{}
	members, _ := group["members"].([]any)
	for _, m := range members {
		if value, ok := m.(map[string]any)["value"].(string); ok {
			have[value] = true
		}
	}
	var add []map[string]string
	for _, id := range sortedKeys(want) {
		if !have[id] {
			add = append(add, map[string]string{"value": id})
		}
	}
	if len(add) > 0 {
		ops = append(ops, scim.Op{Op: "add", Path: "members", Value: add})
	}
	for _, id := range sortedKeys(have) {
		if !want[id] && managed[id] {
			ops = append(ops, scim.Op{Op: "remove", Path: `members[value eq "` + id + `"]`})
		}
	}
	return ops
}

// ManagedAccounts are the accounts linked to Okta users: listed with an
// Okta user ID as externalId, or created or linked by this run.
func ManagedAccounts(listed []Attributes, applied Applied) map[string]bool {
	out := map[string]bool{}
	for _, a := range listed {
		if oktaUserID.MatchString(a.ExternalID()) {
			out[a.ID()] = true
		}
	}
	for _, account := range applied.Accounts {
		out[account] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
