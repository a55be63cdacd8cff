# Fuzzing: `make fuzz` runs every fuzz target for FUZZTIME each, one after another.
# The seed corpora (testdata/fuzz/...) also run in every plain `go test`.

FUZZTIME ?= 30s

# package:FuzzTarget
FUZZ_TARGETS := \
	./runtime/protocol:FuzzReadFrames \
	./runtime/protocol:FuzzDecode \
	./runtime/command:FuzzDecode \
	./runtime/command:FuzzRoundTrip \
	./runtime/ingress:FuzzParseRequest \
	./runtime/ingress:FuzzDecodeInvocationID \
	./runtime/discovery:FuzzParseManifest \
	./runtime/ids:FuzzParseInvocationID \
	./runtime/ids:FuzzInvocationIDBytes \
	./promises:FuzzParse \
	./promises:FuzzEncode

.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
