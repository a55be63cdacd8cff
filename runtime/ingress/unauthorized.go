package ingress

import "net/http"

// WriteUnauthorized answers 401 with msg in the ingress's error shape
// ({"code":401,"message":…,"source":"ingress"}), for the access guard in front of the ingress
// (runtime/bearer).
func WriteUnauthorized(w http.ResponseWriter, msg string) {
	writeError(w, ingressError(http.StatusUnauthorized, msg))
}
