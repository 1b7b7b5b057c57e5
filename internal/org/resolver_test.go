package org

import (
	"errors"
	"strings"
	"testing"
)

func TestCompanyID(t *testing.T) {
	tests := map[string]string{
		"https://acme.okta.com":               "acme",
		"https://acme-admin.oktapreview.com/": "acme-admin",
		"http://127.0.0.1:8443":               "127.0.0.1",
		"http://localhost:8443":               "localhost",
	}
	for url, want := range tests {
		if got := companyID(url); got != want {
			t.Errorf("companyID(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestOrgConfig(t *testing.T) {
	const token = "00secret-token-value"
	tests := map[string]struct {
		data    map[string]string
		wantErr string
		check   func(t *testing.T, oauth bool, capacity int)
	}{
		"API token with the default share": {
			data:  map[string]string{"orgURL": "https://acme.okta.com", "apiToken": token},
			check: func(t *testing.T, oauth bool, capacity int) { expect(t, !oauth && capacity == 50, "SSWS, 50%") },
		},
		"OAuth with a share": {
			data:  map[string]string{"orgURL": "https://acme.okta.com", "clientID": "0oa1", "privateKey": "PEM", "maxAPICapacityPercent": "30"},
			check: func(t *testing.T, oauth bool, capacity int) { expect(t, oauth && capacity == 30, "OAuth, 30%") },
		},
		"no org URL":         {data: map[string]string{"apiToken": token}, wantErr: "has no orgURL"},
		"no credentials":     {data: map[string]string{"orgURL": "https://acme.okta.com"}, wantErr: "neither apiToken nor clientID"},
		"both credentials":   {data: map[string]string{"orgURL": "https://a.okta.com", "apiToken": token, "clientID": "x", "privateKey": "k"}, wantErr: "not both"},
		"client without key": {data: map[string]string{"orgURL": "https://a.okta.com", "clientID": "x"}, wantErr: "no privateKey"},
		"share out of range": {data: map[string]string{"orgURL": "https://a.okta.com", "apiToken": token, "maxAPICapacityPercent": "120"}, wantErr: "1 to 100"},
		"share not a number": {data: map[string]string{"orgURL": "https://a.okta.com", "apiToken": token, "maxAPICapacityPercent": "half"}, wantErr: "1 to 100"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tc.data {
				data[k] = []byte(v)
			}
			cfg, err := orgConfig("ns", "org", data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, new(*SecretError)) {
					t.Fatalf("error = %v, want a Secret error saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), token) {
					t.Error("the error quotes the token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg.OAuth != nil, cfg.MaxAPICapacityPercent)
		})
	}
}

func expect(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Errorf("want %s", what)
	}
}
