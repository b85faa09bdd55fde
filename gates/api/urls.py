from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    # devices
    path("gates/check-in/", views.GateCheckInApi.as_view(), name="gate-check-in"),
    path("gates/check-out/", views.GateCheckOutApi.as_view(), name="gate-check-out"),
    path("gates/poll/", views.GatePollApi.as_view(), name="gate-poll"),
    path("gates/snapshot/", views.GateSnapshotApi.as_view(), name="gate-snapshot"),
    path("gates/events/", views.GateEventBatchApi.as_view(), name="gate-events"),
    path("gates/commands/<int:command_id>/ack/", views.GateCommandAckApi.as_view(), name="gate-command-ack"),
    # staff
    path("gates/", views.GateListCreateApi.as_view(), name="gates"),
    path("gates/event-log/", views.GateEventLogApi.as_view(), name="gate-event-log"),
    path("gates/reviews/", views.ReviewListApi.as_view(), name="gate-reviews"),
    path("gates/reviews/<int:review_id>/approve/", views.ReviewApproveApi.as_view(), name="gate-review-approve"),
    path("gates/reviews/<int:review_id>/reject/", views.ReviewRejectApi.as_view(), name="gate-review-reject"),
    path("gates/<int:gate_id>/rotate-key/", views.GateRotateKeyApi.as_view(), name="gate-rotate-key"),
    path("gates/<int:gate_id>/revoke-keys/", views.GateRevokeKeysApi.as_view(), name="gate-revoke-keys"),
    path("gates/<int:gate_id>/commands/", views.GateCommandCreateApi.as_view(), name="gate-commands"),
]
