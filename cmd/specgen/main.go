// Command specgen writes a spec tree with N generated services, for
// benchmarking nixgen as a whole process (docs/benchmarks.md):
//
//	specgen -n 1000 -out /tmp/specs-1000
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/nixgen/nixgen/internal/specgen"
)

func main() {
	n := flag.Int("n", 100, "number of services")
	hosts := flag.Int("hosts", 1, "number of hosts the services are spread over")
	out := flag.String("out", "", "directory to write the specs into (must not exist)")
	flag.Parse()
	if *out == "" || *n < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: specgen -n N [-hosts H] -out DIR")
		os.Exit(2)
	}
	if _, err := os.Stat(*out); err == nil {
		fmt.Fprintf(os.Stderr, "specgen: %s exists\n", *out)
		os.Exit(2)
	}
	if err := specgen.Write(*out, *n, *hosts); err != nil {
		fmt.Fprintln(os.Stderr, "specgen:", err)
		os.Exit(1)
	}
}
