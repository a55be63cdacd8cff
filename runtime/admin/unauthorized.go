package admin

import "net/http"

// WriteUnauthorized answers 401 with msg in the admin API's error shape
// ({"message":…,"restate_code":null}), for the access guard in front of the API
// (runtime/bearer).
func WriteUnauthorized(w http.ResponseWriter, msg string) {
	apiError(w, http.StatusUnauthorized, "", msg)
}
