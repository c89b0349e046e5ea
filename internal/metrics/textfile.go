package metrics

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/nixgen/nixgen/internal/atomicfile"
)

// The helper writes and reads its textfiles itself rather than through the
// Prometheus client: that library (with protobuf under it) registers
// collectors and descriptors in package initialisers, which every helper
// start paid for, including the boot-time preseed runs that only skip. The
// format is the Prometheus text format as the client writes it (a test
// compares the bytes).

// Gauge is one sample of a gauge family; gauges of the same Name form one
// family (their Help should agree: the first one's is printed).
type Gauge struct {
	Name, Help string
	Labels     [][2]string // name, value
	Value      float64
}

// formatGauges renders gauges as the client's registry would: families by
// name, labels by name, the samples of one family (gauges of the same name)
// under one header, ordered by their label values.
func formatGauges(gauges []Gauge) []byte {
	gauges = slices.Clone(gauges)
	for i := range gauges {
		gauges[i].Labels = slices.Clone(gauges[i].Labels)
		slices.SortFunc(gauges[i].Labels, func(x, y [2]string) int { return strings.Compare(x[0], y[0]) })
	}
	slices.SortStableFunc(gauges, func(a, b Gauge) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		for i := 0; i < len(a.Labels) && i < len(b.Labels); i++ {
			if c := strings.Compare(a.Labels[i][1], b.Labels[i][1]); c != 0 {
				return c
			}
		}
		return len(a.Labels) - len(b.Labels)
	})
	var b bytes.Buffer
	for k, g := range gauges {
		if k == 0 || gauges[k-1].Name != g.Name {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", g.Name, escapeHelp(g.Help), g.Name)
		}
		b.WriteString(g.Name)
		labels := g.Labels
		for i, l := range labels {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			fmt.Fprintf(&b, "%s%s=\"%s\"", sep, l[0], escapeLabel(l[1]))
		}
		if len(labels) > 0 {
			b.WriteByte('}')
		}
		b.WriteByte(' ')
		b.WriteString(formatFloat(g.Value))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatFloat(f float64) string {
	switch {
	case f == 1:
		return "1"
	case f == 0:
		return "0"
	case f == -1:
		return "-1"
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// WriteTextfile replaces path with gauges the way node exporter needs:
// written under a new temporary name in the same directory (O_EXCL, so a
// planted file or symlink is never written through) and renamed into
// place, so the exporter never reads half a file.
func WriteTextfile(path string, gauges []Gauge) error {
	return atomicfile.Write(path, filepath.Base(path)+".*.tmp", formatGauges(gauges), 0o644)
}

// ReadGauge returns the value of the first sample of the named gauge in a
// textfile; ok is false when the file or the metric is missing. A sample
// of that name whose value does not parse is an error.
func ReadGauge(path, name string) (v float64, ok bool, err error) {
	// Not through a symlink: the file is ours, and whatever a link points
	// at is not a metrics file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, found := strings.CutPrefix(line, name)
		if !found || strings.HasPrefix(line, "#") || rest == "" {
			continue
		}
		switch rest[0] {
		case '{':
			end := labelsEnd(rest)
			if end < 0 {
				return 0, false, fmt.Errorf("%s: unterminated labels in %q", path, line)
			}
			rest = rest[end+1:]
		case ' ', '\t':
		default:
			continue // another metric whose name starts with name
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, false, fmt.Errorf("%s: no value in %q", path, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %q: %w", path, line, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}

// labelsEnd returns the index of the "}" closing the label set that s
// starts with, skipping quoted values; -1 if there is none.
func labelsEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == '}':
			return i
		}
	}
	return -1
}
