package preseed

import "github.com/nixgen/nixgen/internal/restic"

// readEnvFile reads a repository's environment file; the parser lives in
// internal/restic, shared with the restore drill.
func readEnvFile(path string) ([]string, error) { return restic.ReadEnvFile(path) }
