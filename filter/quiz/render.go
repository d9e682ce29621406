package quiz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	mrand "math/rand/v2"
	"sync"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gobolditalic"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/gofont/gomediumitalic"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/gofont/gosmallcaps"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Image geometry of generated questions, in pixels.
const (
	// ImageWidth and ImageHeight are the size of a generated question.
	ImageWidth  = 320
	ImageHeight = 100
	margin      = 14
	baseSize    = 40.0 // nominal glyph size
)

// Palette layout of a rendered image: the background, three background
// tints, then inks, each in inkLevels coverage levels blended toward the
// background (anti-aliased edges). 16 entries keep the PNG at 4 bits per
// pixel, a few kilobytes per question.
const (
	bgTints   = 3
	inks      = 4
	inkLevels = 3
	firstInk  = 1 + bgTints
)

// fonts are the Go fonts glyphs are drawn with, parsed once.
var fonts = sync.OnceValues(func() ([]*sfnt.Font, error) {
	var out []*sfnt.Font
	for _, ttf := range [][]byte{
		goregular.TTF, gobold.TTF, goitalic.TTF, gobolditalic.TTF,
		gomedium.TTF, gomediumitalic.TTF, gomonobold.TTF, gosmallcaps.TTF,
	} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			return nil, fmt.Errorf("parse font: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
})

// renderer draws prompts; it keeps scratch buffers between questions and
// is used by one goroutine at a time.
type renderer struct {
	fonts []*sfnt.Font
	buf   sfnt.Buffer
	rast  *vector.Rasterizer
	mask  image.Alpha
	img   *image.Paletted
	segs  []seg
	enc   png.Encoder
	out   bytes.Buffer
	warp  warp
}

// vec is a point in image space.
type vec struct{ x, y float32 }

// seg is one path segment: op 0 move, 1 line, 2 quad, 3 cubic.
type seg struct {
	op uint8
	p  [3]vec
}

// warp is the sine-wave distortion applied to all text and lines.
type warp struct {
	ax, fx, px float64 // horizontal shift: ax·sin(fx·y + px)
	ay, fy, py float64 // vertical shift:   ay·sin(fy·x + py)
}

func (w *warp) apply(p vec) vec {
	x, y := float64(p.x), float64(p.y)
	return vec{
		float32(x + w.ax*math.Sin(w.fx*y+w.px)),
		float32(y + w.ay*math.Sin(w.fy*x+w.py)),
	}
}

// glyphPlan is one glyph's drawing choices.
type glyphPlan struct {
	r      rune
	font   *sfnt.Font
	index  sfnt.GlyphIndex
	size   float64
	adv    float64
	angle  float64
	shear  float64
	sx     float64
	jitter float64
	ink    int
}

func newRenderer() (*renderer, error) {
	fs, err := fonts()
	if err != nil {
		return nil, err
	}
	return &renderer{
		fonts: fs,
		rast:  vector.NewRasterizer(ImageWidth, ImageHeight),
		img:   image.NewPaletted(image.Rect(0, 0, ImageWidth, ImageHeight), make(color.Palette, firstInk+inks*inkLevels)),
		enc:   png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: new(encoderBuffer)},
	}, nil
}

// encoderBuffer keeps the PNG encoder's buffers (and its compressor)
// between the questions of one renderer.
type encoderBuffer struct{ b *png.EncoderBuffer }

func (p *encoderBuffer) Get() *png.EncoderBuffer  { return p.b }
func (p *encoderBuffer) Put(b *png.EncoderBuffer) { p.b = b }

// render draws prompt with interference and returns the PNG bytes (a new
// slice, owned by the caller).
func (r *renderer) render(rng *mrand.Rand, prompt string) ([]byte, error) {
	r.palette(rng)
	clear(r.img.Pix)
	r.warp = warp{
		ax: 1.5 + 2*rng.Float64(), fx: 2 * math.Pi / (50 + 60*rng.Float64()), px: 2 * math.Pi * rng.Float64(),
		ay: 3 + 3*rng.Float64(), fy: 2 * math.Pi / (90 + 90*rng.Float64()), py: 2 * math.Pi * rng.Float64(),
	}
	r.speckles(rng, 350+rng.IntN(250), 1, 1+bgTints, 1)
	for range 2 + rng.IntN(2) {
		r.curve(rng, 1+rng.IntN(bgTints), true, 0.8+rng.Float64())
	}
	if err := r.text(rng, prompt); err != nil {
		return nil, err
	}
	for range 2 + rng.IntN(2) {
		r.curve(rng, rng.IntN(inks), false, 0.9+0.7*rng.Float64())
	}
	r.speckles(rng, 120+rng.IntN(120), firstInk, len(r.img.Palette), 2)
	r.out.Reset()
	if err := r.enc.Encode(&r.out, r.img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return bytes.Clone(r.out.Bytes()), nil
}

// palette picks a light background, its tints and dark, varied inks.
func (r *renderer) palette(rng *mrand.Rand) {
	p := r.img.Palette
	hue := rng.Float64()
	bg := hsv(hue, 0.04+0.1*rng.Float64(), 0.95+0.05*rng.Float64())
	p[0] = bg
	for i := 1; i <= bgTints; i++ {
		p[i] = hsv(hue+0.3*(rng.Float64()-0.5), 0.12+0.25*rng.Float64(), 0.78+0.14*rng.Float64())
	}
	for k := range inks {
		ink := hsv(rng.Float64(), 0.55+0.4*rng.Float64(), 0.22+0.33*rng.Float64())
		for l := range inkLevels {
			p[firstInk+k*inkLevels+l] = blend(bg, ink, float64(l+1)/inkLevels)
		}
	}
}

// text lays out the prompt: each glyph with its own font, size, colour,
// rotation, shear and baseline jitter, scaled to fit and centred.
func (r *renderer) text(rng *mrand.Rand, prompt string) error {
	plans := make([]glyphPlan, 0, len(prompt))
	total := 0.0
	for _, c := range prompt {
		if c == ' ' {
			adv := baseSize * (0.18 + 0.12*rng.Float64())
			plans = append(plans, glyphPlan{r: c, adv: adv})
			total += adv
			continue
		}
		f := r.fonts[rng.IntN(len(r.fonts))]
		x, err := f.GlyphIndex(&r.buf, c)
		if err != nil || x == 0 {
			return fmt.Errorf("no glyph for %q", c)
		}
		g := glyphPlan{
			r: c, font: f, index: x,
			size:   baseSize * (0.85 + 0.3*rng.Float64()),
			angle:  0.3 * (2*rng.Float64() - 1),
			shear:  0.25 * (2*rng.Float64() - 1),
			sx:     0.85 + 0.3*rng.Float64(),
			jitter: 5 * (2*rng.Float64() - 1),
			ink:    rng.IntN(inks),
		}
		adv, err := f.GlyphAdvance(&r.buf, x, fixed.Int26_6(g.size*64), 0)
		if err != nil {
			return fmt.Errorf("glyph advance: %w", err)
		}
		// Glyphs crowd each other a little, which hinders cutting the
		// text into single characters.
		g.adv = float64(adv)/64*g.sx - 1
		plans = append(plans, g)
		total += g.adv
	}
	scale := 1.0
	if avail := float64(ImageWidth - 2*margin); total > avail {
		scale = avail / total
	}
	x := (ImageWidth - total*scale) / 2
	baseline := ImageHeight/2 + baseSize*scale*0.36
	for i := range plans {
		g := &plans[i]
		if g.font != nil {
			if err := r.glyph(g, scale, x, baseline); err != nil {
				return err
			}
		}
		x += g.adv * scale
	}
	return nil
}

// glyph draws one planned glyph with its origin at (x, baseline).
func (r *renderer) glyph(g *glyphPlan, scale, x, baseline float64) error {
	size := g.size * scale
	segs, err := g.font.LoadGlyph(&r.buf, g.index, fixed.Int26_6(size*64), nil)
	if err != nil {
		return fmt.Errorf("load glyph %q: %w", g.r, err)
	}
	// Rotate and shear about the glyph's middle.
	cx, cy := g.adv*scale/2, -size*0.36
	sin, cos := math.Sincos(g.angle)
	tf := func(p fixed.Point26_6) vec {
		qx, qy := float64(p.X)/64-cx, float64(p.Y)/64-cy
		qx = qx*g.sx + g.shear*qy
		rx, ry := qx*cos-qy*sin, qx*sin+qy*cos
		return r.warp.apply(vec{float32(x + cx + rx), float32(baseline + cy + ry + g.jitter)})
	}
	r.segs = r.segs[:0]
	for _, s := range segs {
		var o seg
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			o = seg{op: 0, p: [3]vec{tf(s.Args[0])}}
		case sfnt.SegmentOpLineTo:
			o = seg{op: 1, p: [3]vec{tf(s.Args[0])}}
		case sfnt.SegmentOpQuadTo:
			o = seg{op: 2, p: [3]vec{tf(s.Args[0]), tf(s.Args[1])}}
		case sfnt.SegmentOpCubeTo:
			o = seg{op: 3, p: [3]vec{tf(s.Args[0]), tf(s.Args[1]), tf(s.Args[2])}}
		}
		r.segs = append(r.segs, o)
	}
	r.fill(g.ink)
	return nil
}

// curve draws a wavy line across the image: in a background tint under
// the text (bg true, tint index) or in an ink over it.
func (r *renderer) curve(rng *mrand.Rand, colour int, bg bool, width float64) {
	y0 := margin/2 + rng.Float64()*(ImageHeight-margin)
	y1 := margin/2 + rng.Float64()*(ImageHeight-margin)
	amp := 4 + 10*rng.Float64()
	freq := 2 * math.Pi / (80 + 160*rng.Float64())
	phase := 2 * math.Pi * rng.Float64()
	x0 := -10 + 60*rng.Float64()
	x1 := ImageWidth + 10 - 60*rng.Float64()
	const step = 5.0
	n := int((x1-x0)/step) + 1
	upper := make([]vec, 0, n)
	lower := make([]vec, 0, n)
	at := func(x float64) (float64, float64) {
		t := (x - x0) / (x1 - x0)
		return x, y0 + (y1-y0)*t + amp*math.Sin(freq*x+phase)
	}
	for i := range n {
		x, y := at(x0 + float64(i)*step)
		// Normal from the local slope.
		xa, ya := at(x + 0.5)
		dx, dy := xa-x, ya-y
		l := math.Hypot(dx, dy)
		nx, ny := -dy/l*width/2, dx/l*width/2
		upper = append(upper, r.warp.apply(vec{float32(x + nx), float32(y + ny)}))
		lower = append(lower, r.warp.apply(vec{float32(x - nx), float32(y - ny)}))
	}
	r.segs = r.segs[:0]
	r.segs = append(r.segs, seg{op: 0, p: [3]vec{upper[0]}})
	for _, p := range upper[1:] {
		r.segs = append(r.segs, seg{op: 1, p: [3]vec{p}})
	}
	for i := len(lower) - 1; i >= 0; i-- {
		r.segs = append(r.segs, seg{op: 1, p: [3]vec{lower[i]}})
	}
	if bg {
		r.fillIndex(uint8(colour))
		return
	}
	r.fill(colour)
}

// speckles sets n random pixels (size×size squares) to palette indices in
// [from, to).
func (r *renderer) speckles(rng *mrand.Rand, n, from, to, size int) {
	for range n {
		x, y := rng.IntN(ImageWidth-size+1), rng.IntN(ImageHeight-size+1)
		c := uint8(from + rng.IntN(to-from))
		for dy := range size {
			for dx := range size {
				r.img.Pix[(y+dy)*r.img.Stride+x+dx] = c
			}
		}
	}
}

// fill rasterises r.segs and paints the coverage in ink k: each pixel gets
// the ink's level nearest its coverage, unless a stronger ink level is
// already there.
func (r *renderer) fill(k int) {
	bounds, ok := r.rasterize()
	if !ok {
		return
	}
	base := firstInk + k*inkLevels
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		mrow := r.mask.Pix[(y-bounds.Min.Y)*r.mask.Stride:]
		prow := r.img.Pix[y*r.img.Stride:]
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			a := int(mrow[x-bounds.Min.X])
			level := (a*inkLevels + 127) / 255
			if level == 0 {
				continue
			}
			if old := int(prow[x]); old >= firstInk && (old-firstInk)%inkLevels+1 > level {
				continue
			}
			prow[x] = uint8(base + level - 1)
		}
	}
}

// fillIndex rasterises r.segs and sets covered pixels (coverage above one
// half) to palette index c.
func (r *renderer) fillIndex(c uint8) {
	bounds, ok := r.rasterize()
	if !ok {
		return
	}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		mrow := r.mask.Pix[(y-bounds.Min.Y)*r.mask.Stride:]
		prow := r.img.Pix[y*r.img.Stride:]
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if mrow[x-bounds.Min.X] >= 128 {
				prow[x] = c
			}
		}
	}
}

// rasterize turns r.segs into a coverage mask over their bounds (clipped
// to the image); ok is false when nothing is visible.
func (r *renderer) rasterize() (image.Rectangle, bool) {
	if len(r.segs) == 0 {
		return image.Rectangle{}, false
	}
	minX, minY := float32(math.MaxFloat32), float32(math.MaxFloat32)
	maxX, maxY := float32(-math.MaxFloat32), float32(-math.MaxFloat32)
	for i := range r.segs {
		s := &r.segs[i]
		for j := range int(max(s.op, 1)) {
			p := s.p[j]
			minX, minY = min(minX, p.x), min(minY, p.y)
			maxX, maxY = max(maxX, p.x), max(maxY, p.y)
		}
	}
	b := image.Rect(int(math.Floor(float64(minX))), int(math.Floor(float64(minY))),
		int(math.Ceil(float64(maxX)))+1, int(math.Ceil(float64(maxY)))+1)
	b = b.Intersect(r.img.Rect)
	if b.Empty() {
		return image.Rectangle{}, false
	}
	// The rasterizer clips what falls outside the box (paths crossing the
	// image's edge keep their shape inside it).
	ox, oy := float32(b.Min.X), float32(b.Min.Y)
	r.rast.Reset(b.Dx(), b.Dy())
	for i := range r.segs {
		s := &r.segs[i]
		switch s.op {
		case 0:
			r.rast.MoveTo(s.p[0].x-ox, s.p[0].y-oy)
		case 1:
			r.rast.LineTo(s.p[0].x-ox, s.p[0].y-oy)
		case 2:
			r.rast.QuadTo(s.p[0].x-ox, s.p[0].y-oy, s.p[1].x-ox, s.p[1].y-oy)
		case 3:
			r.rast.CubeTo(s.p[0].x-ox, s.p[0].y-oy, s.p[1].x-ox, s.p[1].y-oy, s.p[2].x-ox, s.p[2].y-oy)
		}
	}
	r.rast.ClosePath()
	n := b.Dx() * b.Dy()
	if cap(r.mask.Pix) < n {
		r.mask.Pix = make([]uint8, n)
	}
	r.mask.Pix = r.mask.Pix[:n]
	r.mask.Stride = b.Dx()
	r.mask.Rect = image.Rect(0, 0, b.Dx(), b.Dy())
	r.rast.DrawOp = draw.Src
	r.rast.Draw(&r.mask, r.mask.Rect, image.Opaque, image.Point{})
	return b, true
}

// hsv converts hue (any real, wrapped to [0,1)), saturation and value in
// [0,1] to an opaque colour.
func hsv(h, s, v float64) color.RGBA {
	h -= math.Floor(h)
	h *= 6
	i := math.Floor(h)
	f := h - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var r, g, b float64
	switch int(i) % 6 {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return color.RGBA{u8(r), u8(g), u8(b), 0xff}
}

// blend mixes a toward b by t in [0,1].
func blend(a, b color.Color, t float64) color.RGBA {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	mix := func(x, y uint32) uint8 { return u8((float64(x)*(1-t) + float64(y)*t) / 0xffff) }
	return color.RGBA{mix(ar, br), mix(ag, bg), mix(ab, bb), 0xff}
}

func u8(x float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, x)) * 255)) }
