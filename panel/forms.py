from django import forms


class ProfileForm(forms.Form):
    poll_interval = forms.IntegerField(min_value=5, max_value=15, label="Poll interval (seconds)")
    daily_quota = forms.IntegerField(min_value=1, max_value=100_000, label="SMS per SIM per day")
    lease_seconds = forms.IntegerField(min_value=30, max_value=3600, label="Lease (seconds)")
