package server

import "net/http"

// adminHandler serves the admin API. TODO: replaced by runtime/admin.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {})
	return mux
}
