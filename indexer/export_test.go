package indexer

// DecodeLogs and FastLogs expose the eth_getLogs decoder to the external tests.
var (
	DecodeLogs = decodeLogs
	FastLogs   = fastLogs
)
