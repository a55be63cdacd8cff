package ingress

// statusCode is the HTTP status an error is answered with; 0 for none (the request succeeded).
func (e *httpError) statusCode() int {
	if e == nil {
		return 0
	}
	return e.status
}
