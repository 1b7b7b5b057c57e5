package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

func TestWatchedNamespaces(t *testing.T) {
	tests := map[string]struct {
		flag string
		want map[string]cache.Config
	}{
		"empty watches all":       {flag: "", want: nil},
		"only separators":         {flag: " , ,", want: nil},
		"one":                     {flag: "sso", want: map[string]cache.Config{"sso": {}}},
		"several with spaces":     {flag: "a, b ,c", want: map[string]cache.Config{"a": {}, "b": {}, "c": {}}},
		"duplicates collapse":     {flag: "a,a", want: map[string]cache.Config{"a": {}}},
		"trailing comma is empty": {flag: "a,", want: map[string]cache.Config{"a": {}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, watchedNamespaces(tc.flag)); diff != "" {
				t.Errorf("watchedNamespaces(%q) (-want +got):\n%s", tc.flag, diff)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	tests := map[string]struct {
		level, format string
		wantErr       bool
	}{
		"info json":     {level: "info", format: "json"},
		"debug text":    {level: "debug", format: "text"},
		"error json":    {level: "error", format: "json"},
		"unknown level": {level: "verbose", format: "json", wantErr: true},
		"warn refused":  {level: "warn", format: "json", wantErr: true},
		"unknown fmt":   {level: "info", format: "xml", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := newLogger(tc.level, tc.format)
			if (err != nil) != tc.wantErr {
				t.Fatalf("newLogger(%q, %q) error = %v, want error %v", tc.level, tc.format, err, tc.wantErr)
			}
		})
	}
}
