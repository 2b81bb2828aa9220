package report

import "testing"

func TestXMLText(t *testing.T) {
	if got := xmlText("a\x00b\tc\nd\x1b]]>é\xff"); got != "a\uFFFDb\tc\nd\uFFFD]]>é\uFFFD" {
		t.Errorf("got %q", got)
	}
}
