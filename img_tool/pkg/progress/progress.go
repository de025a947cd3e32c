// Package progress formats the per-blob progress lines of pushes and loads.
package progress

import (
	"fmt"
	"strings"
)

// ShortDigest abbreviates a digest for progress lines: "sha256:" and the
// first 12 hex digits, then "…".
func ShortDigest(digest string) string {
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok || len(hex) <= 12 {
		return digest
	}
	return algo + ":" + hex[:12] + "…"
}

// HumanSize formats a byte count in decimal units: "512 B", "1.2 kB",
// "3.4 MB", "1.1 GB".
func HumanSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
}
