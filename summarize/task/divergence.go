package task

import "strings"

// Role is what a word of the reference trace does: which skill the model needs to write it.
type Role uint8

const (
	RoleIndex      Role = iota // "#i", the thought's step index (counting down)
	RoleKey                    // "k_i", looked up in the prompt after "#i": a long-range copy
	RoleBefore                 // u_0, the value the previous summary holds
	RoleCounter                // "w_c", the walk's counter (counting down)
	RoleMove                   // a walk digit: F(previous digit, key)
	RoleNoteTag                // "N_i" after the walk
	RoleNote                   // the note: a copy of the digit after w6
	RoleMarker                 // a summary marker
	RoleSummaryTag             // "S_i" in a summary
	RoleValue                  // the summary's value: a copy of the walk's last digit
	RoleEnd                    // the reference trace has ended (the answer marker comes next)
)

var roleNames = [...]string{"index", "key", "before", "counter", "move", "note-tag", "note", "marker",
	"summary-tag", "value", "end"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "unknown"
}

// Roles lists every Role in trace order, for reports that tabulate them.
func Roles() []Role {
	out := make([]Role, len(roleNames))
	for i := range out {
		out[i] = Role(i)
	}
	return out
}

// ReferenceTrace is the reference trace as words, the summary markers included and the answer
// marker excluded (what taskrun collects before the answer), with each word's Role and thought
// (0-based, in generation order).
func (p Problem) ReferenceTrace() (words []string, roles []Role, thoughts []int) {
	for t, s := range p.Solve() {
		add := func(r Role, text string) {
			for _, w := range strings.Fields(text) {
				words, roles, thoughts = append(words, w), append(roles, r), append(thoughts, t)
			}
		}
		body := strings.Fields(p.Body(s))
		add(RoleIndex, body[0])
		add(RoleKey, body[1])
		add(RoleBefore, body[2])
		for m := range s.Walk {
			add(RoleCounter, body[3+2*m])
			add(RoleMove, body[4+2*m])
		}
		add(RoleNoteTag, body[len(body)-2])
		add(RoleNote, body[len(body)-1])
		add(RoleMarker, BeginSummary)
		add(RoleSummaryTag, tagS(s.Index))
		add(RoleValue, value(s.After))
		add(RoleMarker, EndSummary)
	}
	return words, roles, thoughts
}

// Divergence is where a generated trace first leaves the reference trace.
type Divergence struct {
	Exact   bool   // the trace is the reference trace, word for word (the other fields are zero)
	Pos     int    // the first differing word (0-based)
	Thought int    // the reference thought it belongs to (the last one + 1 for RoleEnd)
	Role    Role   // the reference word's role there (RoleEnd: the trace runs on past the reference)
	Want    string // the reference word ("" for RoleEnd)
	Got     string // the generated word (AnswerMarker when the trace stopped early)
}

// FirstDivergence compares a generated trace (the words before the answer marker, as for Recalled)
// with the reference trace. Every later word of a diverged trace is conditioned on the mistake, so
// the first divergence is the one that decides the reference grade (Correct).
func (p Problem) FirstDivergence(trace []string) Divergence {
	words, roles, thoughts := p.ReferenceTrace()
	for i, want := range words {
		if i >= len(trace) {
			return Divergence{Pos: i, Thought: thoughts[i], Role: roles[i], Want: want, Got: AnswerMarker}
		}
		if trace[i] != want {
			return Divergence{Pos: i, Thought: thoughts[i], Role: roles[i], Want: want, Got: trace[i]}
		}
	}
	if len(trace) > len(words) {
		return Divergence{Pos: len(words), Thought: len(p.Keys), Role: RoleEnd, Got: trace[len(words)]}
	}
	return Divergence{Exact: true}
}
