"""The researcher's import form."""

from django import forms

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ImportForm(forms.Form):
    KIND_CHOICES = [("pairs", "Pairs (prompt + two responses, or HH-RLHF chosen/rejected)"), ("prompts", "Prompts")]

    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="pairs", widget=forms.RadioSelect)
    file = forms.FileField(help_text="JSON Lines: one JSON object per line.")
    gold = forms.BooleanField(
        required=False, label="Gold pairs", help_text="HH-RLHF files: use the recorded human preference as gold answer."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        return upload
