package okta

// Observe lets the external tests feed the budget an answer's headers.
func (b *Budget) Observe(bucket string, status int, h map[string][]string) {
	b.observe(bucket, status, h)
}
