"""The researcher's import form."""

from django import forms

from labeling.models import Project
from labeling.services.projects import PROJECT_FIELDS

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ImportForm(forms.Form):
    KIND_CHOICES = [("pairs", "Pairs (prompt + two responses, or HH-RLHF chosen/rejected)"), ("prompts", "Prompts")]

    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="pairs", widget=forms.RadioSelect)
    file = forms.FileField(help_text="JSON Lines: one JSON object per line.")
    gold = forms.BooleanField(
        required=False, label="Gold pairs", help_text="HH-RLHF files: use the recorded human preference as gold answer."
    )

    skip_invalid = forms.BooleanField(
        required=False, label="Skip invalid lines", help_text="Import the valid lines and list the bad ones."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        return upload


class ProjectSettingsForm(forms.ModelForm):
    """Validates a project's settings for the browser; saving goes through labeling.services.project_settings."""

    class Meta:
        model = Project
        fields = list(PROJECT_FIELDS)
        widgets = {
            "instructions": forms.Textarea(attrs={"rows": 8}),
            "content_warning": forms.Textarea(attrs={"rows": 3}),
            "instruction_template": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, locked: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        for name, reason in (locked or {}).items():
            self.fields[name].disabled = True
            self.fields[name].help_text = reason


class ProjectCreateForm(ProjectSettingsForm):
    slug = forms.SlugField(max_length=80, help_text="Short name used in URLs and the API, e.g. hh-harmless.")

    class Meta(ProjectSettingsForm.Meta):
        fields = ["slug", *PROJECT_FIELDS]

    def validate_unique(self):
        """Uniqueness is the service's to report (one message for the API and the page)."""


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
