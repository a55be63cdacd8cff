package sdk

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/resolute-run/resolute/runtime/protocol"
)

// The manifest shape of restatedev/restate service-protocol/endpoint_manifest_schema.json.
type manifest struct {
	ProtocolMode       string            `json:"protocolMode"`
	MinProtocolVersion int               `json:"minProtocolVersion"`
	MaxProtocolVersion int               `json:"maxProtocolVersion"`
	Services           []manifestService `json:"services"`
}

type manifestService struct {
	Name     string            `json:"name"`
	Ty       string            `json:"ty"`
	Handlers []manifestHandler `json:"handlers"`
}

type manifestHandler struct {
	Name   string         `json:"name"`
	Ty     string         `json:"ty,omitempty"`
	Input  manifestInput  `json:"input"`
	Output manifestOutput `json:"output"`
}

type manifestInput struct {
	Required    bool   `json:"required"`
	ContentType string `json:"contentType"`
}

type manifestOutput struct {
	SetContentTypeIfEmpty bool   `json:"setContentTypeIfEmpty"`
	ContentType           string `json:"contentType"`
}

// manifestVersion picks the newest manifest version (v4, v3, v2) that accept names; an empty
// accept gets v4.
func manifestVersion(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return protocol.ManifestV4, true
	}
	for _, v := range []string{protocol.ManifestV4, protocol.ManifestV3, protocol.ManifestV2} {
		if strings.Contains(accept, v) {
			return v, true
		}
	}
	return "", false
}

func (e *Endpoint) discover(w http.ResponseWriter, r *http.Request) {
	ct, ok := manifestVersion(r.Header.Get("accept"))
	if !ok {
		jsonError(w, http.StatusUnsupportedMediaType, "Unsupported service discovery protocol version '%s'", r.Header.Get("accept"))
		return
	}
	w.Header().Set("content-type", ct)
	json.NewEncoder(w).Encode(e.manifest())
}

func (e *Endpoint) manifest() manifest {
	m := manifest{
		ProtocolMode:       "BIDI_STREAM",
		MinProtocolVersion: int(protocol.MinVersion),
		MaxProtocolVersion: int(protocol.MaxVersion),
		Services:           []manifestService{},
	}
	for _, name := range e.order {
		def := e.services[name]
		s := manifestService{Name: name, Ty: [...]string{"SERVICE", "VIRTUAL_OBJECT", "WORKFLOW"}[def.kind], Handlers: []manifestHandler{}}
		for _, hn := range def.order {
			h := def.handlers[hn]
			codec := e.codec
			if h.codec != nil {
				codec = h.codec
			}
			mh := manifestHandler{
				Name:   hn,
				Input:  manifestInput{ContentType: codec.ContentType()},
				Output: manifestOutput{ContentType: codec.ContentType()},
			}
			switch h.kind {
			case exclusiveHandler:
				mh.Ty = "EXCLUSIVE"
			case sharedHandler:
				mh.Ty = "SHARED"
			case workflowHandler:
				mh.Ty = "WORKFLOW"
			}
			s.Handlers = append(s.Handlers, mh)
		}
		m.Services = append(m.Services, s)
	}
	return m
}
