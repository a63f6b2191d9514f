package train

import "github.com/zoomr-go/zoomr/summarize/task"

// TaskCurriculum is the curriculum the committed tiny model was trained with, for a run of `steps`
// optimizer steps. Each batch holds problems of one size (no padding waste), drawn from one of the
// stage's configurations:
//
//	first 25%   2..6 steps of 6..8 moves (3 batches in 4), 7..24 steps of 6..8 moves (1 in 4)
//	next 20%    4..10 steps of 8..16 moves (2 in 3), 8..24 steps of 12..24 moves (1 in 3)
//	last 55%    17..20 steps of 22..25 moves, around the evaluation length (2 in 3),
//	            8..16 steps of 20..25 moves (1 in 3)
//
// Short traces first: the copy and lookup circuits form several times faster on many short
// sequences than on few long ones (a first run that began with up to 24 steps had learned none of
// them after 400 steps; 2..4 steps learned the copies in 150). The long batches of the first
// stages show every index token early, which the notes found necessary: index tokens first seen
// late are slow to learn.
func TaskCurriculum(steps int) []Stage {
	short := task.Config{MinSteps: 2, MaxSteps: 6, MinWalk: 6, MaxWalk: 8}
	mid := task.Config{MinSteps: 4, MaxSteps: 10, MinWalk: 8, MaxWalk: 16}
	full := task.Config{MinSteps: 17, MaxSteps: 20, MinWalk: 22, MaxWalk: 25}
	return []Stage{
		{Until: steps * 25 / 100, Tasks: []task.Config{short, short, short, {MinSteps: 7, MaxSteps: 24, MinWalk: 6, MaxWalk: 8}}},
		{Until: steps * 45 / 100, Tasks: []task.Config{mid, mid, {MinSteps: 8, MaxSteps: 24, MinWalk: 12, MaxWalk: 24}}},
		{Until: steps, Tasks: []task.Config{full, full, {MinSteps: 8, MaxSteps: 16, MinWalk: 20, MaxWalk: 25}}},
	}
}

// LongCurriculum is the curriculum of the long scale (task.Long) for a model that already writes
// the standard task (grown from testdata/zoomr-tiny), for a run of `steps` optimizer steps. Every
// stage mixes cheap problems that teach the long scale's new words (24..44 steps of short walks:
// the step tags #24.. and S24.., N24..; a few steps of 33..48 moves: the counters w33..w48),
// problems of middle length (16..32 steps of 40..48 moves: positions to 3,500, past the 1,200 the
// bundled model was trained on) and problems of the long evaluation length (40..44 steps of 48
// moves), whose share grows:
//
//	first 30%   new tags, new counters, middle, evaluation length (1 in 4 each)
//	rest        new tags, middle (1 in 5 each), evaluation length (3 in 5)
func LongCurriculum(steps int) []Stage {
	tags := task.Config{Scale: task.Long, MinSteps: 24, MaxSteps: 44, MinWalk: 6, MaxWalk: 12}
	counters := task.Config{Scale: task.Long, MinSteps: 2, MaxSteps: 8, MinWalk: 33, MaxWalk: 48}
	mid := task.Config{Scale: task.Long, MinSteps: 16, MaxSteps: 32, MinWalk: 40, MaxWalk: 48}
	full := task.Config{Scale: task.Long} // the long evaluation distribution
	return []Stage{
		{Until: steps * 30 / 100, Tasks: []task.Config{tags, counters, mid, full}},
		{Until: steps, Tasks: []task.Config{tags, mid, full, full, full}},
	}
}

// LongScratchCurriculum is TaskCurriculum's plan at the long scale (task.Long), for a model trained
// from scratch in it, for a run of `steps` optimizer steps:
//
//	first 20%   2..6 steps of 6..8 moves (2 in 3), 7..48 steps of 6..8 moves (1 in 3)
//	next 25%    4..12 steps of 8..24 moves (1 in 2), 12..48 steps of 12..24 moves (1 in 4),
//	            2..8 steps of 33..48 moves (1 in 4: the long walks' counters)
//	last 55%    the long evaluation distribution, 40..44 steps of 48 moves (1 in 2), 16..32 steps
//	            of 40..48 moves (1 in 4), 24..48 steps of 6..12 moves (1 in 4)
//
// As in TaskCurriculum, short problems come first and the long batches of the first stage show
// every step tag (#0..#47 and its S and N tags) early. The short walks of the last stage keep the
// header lookup trained at every step count for little compute: the bundled model, trained at
// 17..20 steps, looked up a header key wrong even close to its prompt once a problem had 24 steps.
func LongScratchCurriculum(steps int) []Stage {
	long := func(k1, k2, n1, n2 int) task.Config {
		return task.Config{Scale: task.Long, MinSteps: k1, MaxSteps: k2, MinWalk: n1, MaxWalk: n2}
	}
	short, tags := long(2, 6, 6, 8), long(7, 48, 6, 8)
	mid := long(4, 12, 8, 24)
	full := task.Config{Scale: task.Long}
	return []Stage{
		{Until: steps * 20 / 100, Tasks: []task.Config{short, short, tags}},
		{Until: steps * 45 / 100, Tasks: []task.Config{mid, mid, long(12, 48, 12, 24), long(2, 8, 33, 48)}},
		{Until: steps, Tasks: []task.Config{full, full, long(16, 32, 40, 48), long(24, 48, 6, 12)}},
	}
}
