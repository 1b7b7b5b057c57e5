// Command scim-server runs the tests' in-memory SCIM 2.0 service provider
// (internal/scim/scimtest) as a process, for the end-to-end tests and the
// demo: it prints its SCIM root URL on the first line of stdout, serves
// GET /_test/requests and /_test/users for inspection, and holds the
// accounts given with --user until it is stopped.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oktaop/okta-sso-operator/internal/scim/scimtest"
)

type users []string

func (u *users) String() string     { return strings.Join(*u, ",") }
func (u *users) Set(v string) error { *u = append(*u, v); return nil }

func main() {
	token := flag.String("token", "", "The bearer token requests must carry (required).")
	addr := flag.String("addr", "", "The address to listen on, e.g. 127.0.0.1:18091; a free loopback port when empty.")
	var accounts users
	flag.Var(&accounts, "user", "A userName the service provider holds from the start (repeatable).")
	flag.Parse()
	if *token == "" {
		fmt.Fprintln(os.Stderr, "scim-server: --token is required")
		os.Exit(2)
	}
	srv, err := scimtest.New(scimtest.Options{Token: *token, Addr: *addr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scim-server:", err)
		os.Exit(1)
	}
	defer srv.Close()
	for _, name := range accounts {
		srv.AddUser(map[string]any{"userName": name, "active": true})
	}
	fmt.Println(srv.URL())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
}
