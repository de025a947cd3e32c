package gotemplate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/template"
)

func TestExpansionSizeLimit(t *testing.T) {
	list := make([]string, 1100)
	vars := map[string]any{"L": list, "S": strings.Repeat("x", 1000)}
	for _, tc := range []struct {
		name, text string
		wantErr    bool
	}{
		{"range over range", `{{range .L}}{{range $.L}}{{$.S}}{{end}}{{end}}`, true},
		{"one big value", `{{range .L}}{{$.S}}{{end}}`, true},
		{"just below the limit", `{{range .L}}{{end}}` + strings.Repeat("y", template.MaxExpandedSize-8) + `{{"1234567"}}`, false},
		{"just above the limit", strings.Repeat("y", template.MaxExpandedSize-7) + `{{"12345678"}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Expand(map[string]map[string]string{"labels": {"k": tc.text}}, vars)
			if !tc.wantErr {
				if err != nil || len(out["labels"]["k"]) != template.MaxExpandedSize-1 {
					t.Fatalf("Expand() = %d bytes, %v", len(out["labels"]["k"]), err)
				}
				return
			}
			if err == nil || !errors.Is(err, template.ErrInvalidArgument) ||
				!strings.HasPrefix(err.Error(), `labels["k"] = `) || !strings.HasSuffix(err.Error(), ": expands to more than 1048576 bytes: invalid argument") {
				t.Errorf("Expand() = %.200v, want an error naming labels[\"k\"] and the limit", err)
			}
		})
	}
}
