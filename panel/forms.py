from django import forms

from devices.models import AndroidDevice


class ProfileForm(forms.ModelForm):
    """The device profile; its bounds are the model's (devices.models.PROFILE_LIMITS)."""

    class Meta:
        model = AndroidDevice
        fields = ["poll_interval", "daily_quota", "lease_seconds"]
