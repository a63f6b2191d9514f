package main

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// htmlBlocks are the elements whose boundaries are paragraph breaks in the text.
var htmlBlocks = map[string]bool{"p": true, "pre": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"ul": true, "ol": true, "li": true, "table": true, "tr": true, "div": true, "blockquote": true, "dl": true,
	"dt": true, "dd": true}

var blankRun = regexp.MustCompile(`\n[ \t]*(\n[ \t]*)+`)

// htmlText is an HTML document as plain text: its text nodes (entities decoded), a blank line at
// every block element's boundary, no markup, scripts or styles. Lines inside a block keep their
// breaks (code in <pre> keeps its layout). x/net/html's tokenizer does the parsing.
func htmlText(doc string) (string, error) {
	z := html.NewTokenizer(strings.NewReader(doc))
	var b strings.Builder
	skip := 0 // inside <script> or <style>
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); err.Error() != "EOF" {
				return "", fmt.Errorf("reading HTML: %w", err)
			}
			text := blankRun.ReplaceAllString(b.String(), "\n\n")
			return strings.TrimSpace(text) + "\n", nil
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "script" || tag == "style" {
				if z.Token().Type == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			}
			if htmlBlocks[tag] {
				b.WriteString("\n\n")
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
}
