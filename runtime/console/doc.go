// Package console is the web console served at /ui on the admin address: services and
// deployments, invocations with filters, an invocation's journal as a timeline, a Virtual
// Object key's state, and the cancel, kill, pause, resume and purge operations.
//
// The console is static files (HTML, CSS and JavaScript without a framework), embedded in the
// binary and served by Mount in front of the admin API. Every piece of data the pages show
// comes from the admin API itself, read by the browser: POST /query (SQL over sys_invocation,
// sys_journal, state, sys_inbox, sys_keyed_service_status), GET /services, GET /deployments,
// and PATCH /invocations/{id}/{operation}. The files hold no data, so a server with admin
// tokens serves them without one (Paths lists them for the guard); the pages ask for a token
// when the API answers 401 and send it with every request, as any other client does.
//
// The pages render data only as text (DOM text nodes and attributes, never HTML strings) and
// quote every value they put in SQL; the files are served with a Content-Security-Policy that
// allows no inline script, so invocation ids, keys, state values and failure messages cannot
// inject markup or script.
//
// A Handler is immutable and safe for concurrent use.
package console
