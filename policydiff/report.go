package policydiff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Differ reports whether some rule differs.
func (r *Report) Differ() bool {
	for _, rd := range r.Rules {
		if rd.Differs {
			return true
		}
	}
	return false
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the differing rules, each condition with its example,
// then a summary that names every rule whose search was not exhaustive.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", r.Old, r.New)
	var differ, same, identical int
	var sampled []string
	for _, rd := range r.Rules {
		switch {
		case rd.Differs:
			differ++
		case rd.Exhaustive:
			same++
			if rd.Identical {
				identical++
			}
		default:
			sampled = append(sampled, rd.Rule)
		}
		if !rd.Differs {
			continue
		}
		how := "exhaustive"
		if !rd.Exhaustive {
			how = "not exhaustive"
		}
		fmt.Fprintf(&b, "\n%s: %d of %d requests differ (%s)\n", rd.Rule, rd.Differing, rd.Requests, how)
		for _, d := range rd.Differences {
			fmt.Fprintf(&b, "  %s: %s → %s\n", d.Condition, d.Old, d.New)
			cr, _ := json.Marshal(d.Example.Credentials)
			tg, _ := json.Marshal(d.Example.Target)
			fmt.Fprintf(&b, "    e.g. credentials %s, target %s\n", cr, tg)
			for _, e := range []struct{ side, msg string }{{"old", d.OldError}, {"new", d.NewError}} {
				if e.msg != "" {
					fmt.Fprintf(&b, "    %s fails closed: %s\n", e.side, e.msg)
				}
			}
		}
		if n := len(rd.Differences); rd.Differs && n == 0 {
			b.WriteString("  (no condition derived)\n")
		}
		for _, why := range rd.NotExhaustive {
			fmt.Fprintf(&b, "  not exhaustive: %s\n", why)
		}
	}
	noun := "rules"
	if len(r.Rules) == 1 {
		noun = "rule"
	}
	fmt.Fprintf(&b, "\n%d %s: %d differ, %d decide alike on every request of the abstraction", len(r.Rules), noun, differ, same)
	if identical > 0 {
		fmt.Fprintf(&b, " (%d reach identical rules)", identical)
	}
	if len(sampled) > 0 {
		fmt.Fprintf(&b, ", %d show no difference in a search that is not exhaustive:\n", len(sampled))
		for _, name := range sampled {
			for _, rd := range r.Rules {
				if rd.Rule == name {
					fmt.Fprintf(&b, "  %s (%d requests): %s\n", name, rd.Requests, strings.Join(rd.NotExhaustive, "; "))
				}
			}
		}
	} else {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
