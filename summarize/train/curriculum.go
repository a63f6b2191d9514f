package train

import "github.com/zoomr-go/zoomr/summarize/task"

// TaskCurriculum is the curriculum the committed tiny model was trained with, for a run of `steps`
// optimizer steps:
//
//	first 30%   2..24 steps of 6..8 moves    every token family and index, short traces (~100..600 tokens)
//	next 25%    6..24 steps of 10..24 moves  longer walks
//	last 45%    17..20 steps of 22..25 moves around the evaluation length (~1,000..1,230 tokens)
//
// Every stage draws indices from the whole range (a problem of K steps uses #K-1..#0, and K ranges
// widely from the start), which the notes found necessary: index tokens first seen late are slow
// to learn.
func TaskCurriculum(steps int) []Stage {
	return []Stage{
		{Until: steps * 30 / 100, Task: task.Config{MinSteps: 2, MaxSteps: 24, MinWalk: 6, MaxWalk: 8}},
		{Until: steps * 55 / 100, Task: task.Config{MinSteps: 6, MaxSteps: 24, MinWalk: 10, MaxWalk: 24}},
		{Until: steps, Task: task.Config{MinSteps: 17, MaxSteps: 20, MinWalk: 22, MaxWalk: 25}},
	}
}
