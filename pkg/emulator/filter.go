package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Okta's filter and search parameters are expressions such as
//
//	profile.lastName eq "Smith" and (created gt "2021-01-01T00:00:00.000Z" or status eq "ACTIVE")
//
// with the operators eq, sw (starts with), co (contains), gt, ge, lt, le
// (string order, which is time order for Okta's timestamps) and pr
// (present), joined by and/or with parentheses.

// expr is a parsed expression evaluated against an object's attributes.
type expr func(attrs map[string]string) bool

// parseExpr parses an expression; an empty one matches everything.
func parseExpr(s string) (expr, error) {
	if strings.TrimSpace(s) == "" {
		return func(map[string]string) bool { return true }, nil
	}
	p := &exprParser{tokens: tokenize(s)}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.tokens) {
		return nil, fmt.Errorf("unexpected %q in %q", p.tokens[p.pos], s)
	}
	return e, nil
}

func tokenize(s string) []string {
	var tokens []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			tokens = append(tokens, string(c))
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && (s[j] != '"' || s[j-1] == '\\') {
				j++
			}
			tokens = append(tokens, s[i:min(j+1, len(s))])
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' {
				j++
			}
			tokens = append(tokens, s[i:j])
			i = j
		}
	}
	return tokens
}

type exprParser struct {
	tokens []string
	pos    int
}

func (p *exprParser) peek() string {
	if p.pos < len(p.tokens) {
		return p.tokens[p.pos]
	}
	return ""
}

func (p *exprParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *exprParser) or() (expr, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(a map[string]string) bool { return l(a) || right(a) }
	}
	return left, nil
}

func (p *exprParser) and() (expr, error) {
	left, err := p.factor()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.next()
		right, err := p.factor()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(a map[string]string) bool { return l(a) && right(a) }
	}
	return left, nil
}

func (p *exprParser) factor() (expr, error) {
	if p.peek() == "(" {
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("a parenthesis is not closed")
		}
		return e, nil
	}
	attr, op := p.next(), strings.ToLower(p.next())
	if attr == "" || op == "" {
		return nil, fmt.Errorf("incomplete expression")
	}
	if op == "pr" {
		return func(a map[string]string) bool { _, ok := a[attr]; return ok }, nil
	}
	raw := p.next()
	value, err := strconv.Unquote(raw)
	if err != nil {
		if raw == "" || raw == "(" || raw == ")" {
			return nil, fmt.Errorf("%s %s needs a value", attr, op)
		}
		value = raw // true, false and numbers come unquoted
	}
	cmp, ok := operators[op]
	if !ok {
		return nil, fmt.Errorf("unsupported operator %q", op)
	}
	return func(a map[string]string) bool {
		got, ok := a[attr]
		return ok && cmp(got, value)
	}, nil
}

var operators = map[string]func(got, want string) bool{
	"eq": func(g, w string) bool { return g == w },
	"sw": strings.HasPrefix,
	"co": strings.Contains,
	"gt": func(g, w string) bool { return g > w },
	"ge": func(g, w string) bool { return g >= w },
	"lt": func(g, w string) bool { return g < w },
	"le": func(g, w string) bool { return g <= w },
}
