package main

import "github.com/resolute-run/resolute/runtime/protocol"

func protocolVersion(v int) protocol.Version { return protocol.Version(v) }
