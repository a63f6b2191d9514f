package quant

import "math"

// The k-quant reference quantizers (ggml's quantize_row_q4_K_ref and quantize_row_q6_K_ref with the
// search helpers they use), ported operation for operation; see quantize.go for the rounding rules.

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it is all zeros.
const groupMaxEps = 1e-15

// makeQKX2Quants is ggml's make_qkx2_quants: the scale and (negated) minimum that quantize x to
// [0, nmax] with the least weighted squared error, searched over nstep+1 candidate scales around
// nmax/(max-min). L receives the quants; it returns (scale, -min).
func makeQKX2Quants(nmax int, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int) (scale, theMin float32) {
	n := len(x)
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		clear(L[:n])
		return 0, -mn
	}
	fmax := float32(nmax)
	iscale := fmax / (mx - mn)
	scale = 1 / iscale
	var bestError float32
	for i := range n {
		l := nearestInt(float32(iscale * (x[i] - mn)))
		L[i] = uint8(max(0, min(nmax, l)))
		diff := float32(scale*float32(L[i])) + mn - x[i]
		diff = float32(diff * diff)
		bestError += float32(weights[i] * diff)
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fmax) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(nmax, nearestInt(float32(iscale*(x[i]-mn)))))
			Laux[i] = uint8(l)
			w, fl := weights[i], float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D <= 0 {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var curError float32
		for i := range n {
			diff := float32(thisScale*float32(Laux[i])) + thisMin - x[i]
			diff = float32(diff * diff)
			curError += float32(weights[i] * diff)
		}
		if curError < bestError {
			copy(L[:n], Laux[:n])
			bestError, scale, mn = curError, thisScale, thisMin
		}
	}
	return scale, -mn
}

// scaleMinK4 is ggml's get_scale_min_k4: the j-th 6-bit scale and min packed in a Q4_K block's 12
// scale bytes.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// quantizeBlockQ4_K: eight sub-blocks of 32, each with a 6-bit scale and 6-bit min relative to the
// super-block's half-precision d and dmin. Layout: d, dmin, scales[12], qs[128] (each 32-byte group
// holds sub-block 2j in its low nibbles and 2j+1 in its high nibbles).
func quantizeBlockQ4_K(dst []byte, x []float32) {
	var L [qkK]uint8
	var Laux [32]uint8
	var weights [32]float32
	var mins, scales [qkK / 32]float32
	var maxScale, maxMin float32
	for j := range qkK / 32 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(15, xs, weights[:], L[32*j:], Laux[:], -1, 0.1, 20)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := dst[4:16]
	clear(sc)
	for j := range qkK / 32 {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sc[j] = ls
			sc[j+4] = lm
		} else {
			sc[j+4] = ls&0xf | (lm&0xf)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putFP16(dst, maxScale/63)
	putFP16(dst[2:], maxMin/63)
	dBlock, mBlock := getFP16(dst), getFP16(dst[2:])
	for j := range qkK / 32 {
		s, m := scaleMinK4(j, sc)
		d := float32(dBlock * float32(s))
		if d == 0 {
			continue
		}
		dm := float32(mBlock * float32(m))
		for ii := range 32 {
			l := nearestInt((x[32*j+ii] + dm) / d)
			L[32*j+ii] = uint8(max(0, min(15, l)))
		}
	}
	q := dst[16:]
	for j := 0; j < qkK; j += 64 {
		for l := range 32 {
			q[l] = L[j+l] | L[j+l+32]<<4
		}
		q = q[32:]
	}
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no importance weights (the call Q6_K's
// reference quantizer makes): quants in [0, 2·nmax) stored with +nmax, the scale chosen among 19
// candidates by weighted (x²) least squares. L receives the quants; it returns the scale.
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	amax, signedMax := absMaxSigned(x)
	if amax < groupMaxEps {
		clear(L[:n])
		return 0
	}
	fmax := float32(nmax)
	clampQ := func(l int) int { return max(-nmax, min(nmax-1, l)) }
	sums := func(iscale float32, store bool) (sumLX, sumL2 float32) {
		for i, v := range x {
			l := clampQ(nearestInt(float32(iscale * v)))
			if store {
				L[i] = int8(l + nmax)
			}
			w, fl := float32(v*v), float32(l)
			sumLX += float32(float32(w*v) * fl)
			sumL2 += float32(float32(w*fl) * fl)
		}
		return sumLX, sumL2
	}
	iscale := -fmax / signedMax
	sumLX, sumL2 := sums(iscale, true)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := float32(scale * sumLX)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fmax + float32(0.1*float32(is))) / signedMax
		sumLX, sumL2 = sums(iscale, false)
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			sums(iscale, true)
			scale = sumLX / sumL2
			best = float32(scale * sumLX)
		}
	}
	return scale
}

// quantizeBlockQ6_K: sixteen sub-blocks of 16 with signed 8-bit scales relative to a half d, 6-bit
// quants stored as 4 low bits (ql[128]) and 2 high bits (qh[64]). Layout: ql, qh, scales[16], d.
func quantizeBlockQ6_K(dst []byte, x []float32) {
	var L [qkK]int8
	var scales [qkK / 16]float32
	var maxScale, maxAbsScale float32
	for ib := range qkK / 16 {
		scale := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:])
		scales[ib] = scale
		if a := abs32(scale); a > maxAbsScale {
			maxAbsScale, maxScale = a, scale
		}
	}
	ql, qh, sc := dst[0:128], dst[128:192], dst[192:208]
	if maxAbsScale < groupMaxEps {
		clear(dst)
		return
	}
	iscale := -128 / maxScale
	putFP16(dst[208:], 1/iscale)
	for ib := range qkK / 16 {
		sc[ib] = uint8(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
	}
	dBlock := getFP16(dst[208:])
	for j := range qkK / 16 {
		d := float32(dBlock * float32(int8(sc[j])))
		if d == 0 {
			continue
		}
		for ii := range 16 {
			l := nearestInt(x[16*j+ii] / d)
			L[16*j+ii] = int8(max(-32, min(31, l)) + 32)
		}
	}
	for j := 0; j < qkK; j += 128 {
		for l := range 32 {
			q1, q2 := uint8(L[j+l])&0xf, uint8(L[j+l+32])&0xf
			q3, q4 := uint8(L[j+l+64])&0xf, uint8(L[j+l+96])&0xf
			ql[l] = q1 | q3<<4
			ql[l+32] = q2 | q4<<4
			qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
		}
		ql, qh = ql[64:], qh[32:]
	}
}

// kScalesQ4 unpacks a Q4_K block's 8 scales and 8 mins.
func kScalesQ4(sc []byte) (scales, mins [8]uint8) {
	for j := range 8 {
		scales[j], mins[j] = scaleMinK4(j, sc)
	}
	return scales, mins
}
