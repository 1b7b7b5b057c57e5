package keys

import (
	"testing"
	"time"
)

func TestNeedsIssuing(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cert, key, err := SelfSigned("sp", 2048, now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _, _ := SelfSigned("sp", 2048, now, 365*24*time.Hour)
	tests := map[string]struct {
		data   map[string][]byte
		now    time.Time
		reason string
	}{
		"no Secret":                 {data: nil, now: now, reason: ReasonSecretMissing},
		"empty Secret":              {data: map[string][]byte{}, now: now, reason: ReasonDataMissing},
		"key without certificate":   {data: map[string][]byte{KeyKey: key}, now: now, reason: ReasonDataMissing},
		"key of another pair":       {data: map[string][]byte{CertKey: otherCert, KeyKey: key}, now: now, reason: ReasonKeyMismatch},
		"expired":                   {data: map[string][]byte{CertKey: cert, KeyKey: key}, now: now.Add(366 * 24 * time.Hour), reason: ReasonExpired},
		"inside renewBefore":        {data: map[string][]byte{CertKey: cert, KeyKey: key}, now: now.Add(340 * 24 * time.Hour), reason: ReasonNearingExpiry},
		"valid and far from expiry": {data: map[string][]byte{CertKey: cert, KeyKey: key}, now: now.Add(24 * time.Hour), reason: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reason, issue := NeedsIssuing(CertRequest{Data: tc.data, Now: tc.now, RenewBefore: 30 * 24 * time.Hour}, SPCertificatePolicies)
			if reason != tc.reason || issue != (tc.reason != "") {
				t.Errorf("NeedsIssuing = %q, %v; want %q", reason, issue, tc.reason)
			}
		})
	}
}

func TestNextStep(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	active := SigningKey{Kid: "a", Created: now.Add(-700 * day), ExpiresAt: now.Add(60 * day)}
	nearExpiry := SigningKey{Kid: "a", Created: now.Add(-700 * day), ExpiresAt: now.Add(10 * day)}
	fresh := &SigningKey{Kid: "b", Created: now.Add(-2 * day), ExpiresAt: now.Add(728 * day)}
	aged := &SigningKey{Kid: "b", Created: now.Add(-8 * day), ExpiresAt: now.Add(722 * day)}
	tests := map[string]struct {
		r       Rotation
		step    Step
		recheck time.Duration
	}{
		"far from expiry: wait until rotateBefore":   {r: Rotation{Active: active}, step: StepNone, recheck: 30 * day},
		"inside rotateBefore: generate":              {r: Rotation{Active: nearExpiry}, step: StepGenerate},
		"successor young: wait for promoteAfter":     {r: Rotation{Active: nearExpiry, Next: fresh}, step: StepNone, recheck: 5 * day},
		"successor aged: promote":                    {r: Rotation{Active: nearExpiry, Next: aged}, step: StepPromote},
		"annotation: promote at once":                {r: Rotation{Active: nearExpiry, Next: fresh, PromoteRequested: true}, step: StepPromote},
		"promoted: retire the previous key":          {r: Rotation{Active: *aged, Previous: &nearExpiry}, step: StepRetire},
		"rotate requested far from expiry: generate": {r: Rotation{Active: active, RotateRequested: true}, step: StepGenerate},
		"rotate requested while staged: wait":        {r: Rotation{Active: active, Next: fresh, RotateRequested: true}, step: StepNone, recheck: 5 * day},
		"rotate requested while promoted: retire":    {r: Rotation{Active: *aged, Previous: &nearExpiry, RotateRequested: true}, step: StepRetire},
		"promote requested with nothing staged":      {r: Rotation{Active: active, PromoteRequested: true}, step: StepNone, recheck: 30 * day},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.r.Now, tc.r.RotateBefore, tc.r.PromoteAfter = now, 30*day, 7*day
			step, recheck := NextStep(tc.r)
			if step != tc.step || recheck != tc.recheck {
				t.Errorf("NextStep = %s, %v; want %s, %v", step, recheck, tc.step, tc.recheck)
			}
		})
	}
}

func TestServedRequests(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	active := SigningKey{Kid: "a", Created: now.Add(-700 * day), ExpiresAt: now.Add(3000 * day)}
	staged := &SigningKey{Kid: "b", Created: now.Add(-2 * day), ExpiresAt: now.Add(3600 * day)}
	previous := &SigningKey{Kid: "z", Created: now.Add(-900 * day), ExpiresAt: now.Add(10 * day)}
	tests := map[string]struct {
		r               Rotation
		rotate, promote bool
	}{
		"rotate while stable: served by the rotation it starts":   {r: Rotation{Active: active, RotateRequested: true}, rotate: true},
		"rotate while staged: served by the rotation under way":   {r: Rotation{Active: active, Next: staged, RotateRequested: true}, rotate: true},
		"rotate while the previous key retires: waits":            {r: Rotation{Active: active, Previous: previous, RotateRequested: true}},
		"promote while staged: served by promoting":               {r: Rotation{Active: active, Next: staged, PromoteRequested: true}, promote: true},
		"promote with nothing staged: served, nothing to promote": {r: Rotation{Active: active, PromoteRequested: true}, promote: true},
		"promote while the previous key retires: waits":           {r: Rotation{Active: active, Previous: previous, PromoteRequested: true}},
		"rotate and promote at once: the rotation first":          {r: Rotation{Active: active, RotateRequested: true, PromoteRequested: true}, rotate: true},
		"no request: nothing served":                              {r: Rotation{Active: active, Next: staged}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.r.Now, tc.r.RotateBefore, tc.r.PromoteAfter = now, 30*day, 7*day
			step, _ := NextStep(tc.r)
			rotate, promote := ServedRequests(tc.r, step)
			if rotate != tc.rotate || promote != tc.promote {
				t.Errorf("ServedRequests after %s = rotate %v, promote %v; want %v, %v", step, rotate, promote, tc.rotate, tc.promote)
			}
		})
	}
}
