package task

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReferenceTraceIsTheRenderedRecord(t *testing.T) {
	p := Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: Note, Target: 1}
	var want []string
	for _, th := range p.Record().Thoughts {
		want = append(want, strings.Fields(th.Text)...)
		want = append(want, BeginSummary)
		want = append(want, strings.Fields(th.Summary)...)
		want = append(want, EndSummary)
	}
	words, roles, thoughts := p.ReferenceTrace()
	require.Equal(t, want, words)
	require.Len(t, roles, len(words))
	require.Len(t, thoughts, len(words))
	// Thought 1 is step #1: "#1 k1 u0 w8 d … w1 d N1 note <bos> S1 v <eos>".
	first := slices.Index(thoughts, 1)
	require.Equal(t, "#1", words[first])
	wantRoles := []Role{RoleIndex, RoleKey, RoleBefore, RoleCounter, RoleMove}
	require.Equal(t, wantRoles, roles[first:first+5])
	last := first + 3 + 2*p.Walk + 2 + 4 - 1
	require.Equal(t, []Role{RoleNoteTag, RoleNote, RoleMarker, RoleSummaryTag, RoleValue, RoleMarker},
		roles[last-5:last+1])
	require.Equal(t, "N1", words[last-5])
	require.Equal(t, 1, thoughts[last])
	require.Equal(t, 2, thoughts[last+1])
}

func TestFirstDivergenceFindsTheFirstWrongWord(t *testing.T) {
	p := Problem{Keys: []int{3, 1, 4}, Start: 2, Walk: 8, Kind: Value, Target: 0}
	ref, _, _ := p.ReferenceTrace()
	require.Equal(t, Divergence{Exact: true}, p.FirstDivergence(ref))

	// A wrong key in the second thought's header; a later mistake does not count.
	at := slices.Index(ref, "#1") + 1
	bad := slices.Clone(ref)
	bad[at] = "k9"
	bad[len(bad)-2] = "v9"
	d := p.FirstDivergence(bad)
	require.Equal(t, Divergence{Pos: at, Thought: 1, Role: RoleKey, Want: "k1", Got: "k9"}, d)

	// A wrong walk digit.
	bad = slices.Clone(ref)
	bad[at+3] = "x" // after the key: u_0, w8, then the first move
	require.Equal(t, RoleMove, p.FirstDivergence(bad).Role)

	// Stopped early: the answer marker came where the reference had more to write.
	d = p.FirstDivergence(ref[:at])
	require.Equal(t, Divergence{Pos: at, Thought: 1, Role: RoleKey, Want: "k1", Got: AnswerMarker}, d)

	// Ran on past the reference.
	d = p.FirstDivergence(append(slices.Clone(ref), "#9"))
	require.Equal(t, Divergence{Pos: len(ref), Thought: 3, Role: RoleEnd, Got: "#9"}, d)
}

func TestRolesNameEveryRole(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Roles() {
		require.NotEqual(t, "unknown", r.String())
		require.False(t, seen[r.String()], r.String())
		seen[r.String()] = true
	}
	require.Equal(t, "unknown", Role(200).String())
}
