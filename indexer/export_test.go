package indexer

// DecodeLogs and FastLogs expose the eth_getLogs decoder to the external tests.
var (
	DecodeLogs = decodeLogs
	FastLogs   = fastLogs
)

// Fallbacks counts the eth_getLogs answers n asked again through go-ethereum's client.
func (n *Node) Fallbacks() int64 {
	if n.logs == nil {
		return -1
	}
	return n.logs.fallbacks.Load()
}

// SetStreamBuffer sets the first size of n's read buffer of eth_getLogs answers (tiny
// sizes make the tests cross a refill inside every value).
func (n *Node) SetStreamBuffer(size int) { n.logs.bufSize = size }

// IsLoopback is isLoopback, for the tests.
var IsLoopback = isLoopback
