from rest_framework import serializers

from reviews.models import OwnerResponse, Review


class ReviewCreateInputSerializer(serializers.Serializer):
    booking = serializers.UUIDField(help_text="One of your completed bookings (within 30 days of its end).")
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    comment = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class ReviewUpdateInputSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ResponseInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class OwnerResponseOutputSerializer(serializers.ModelSerializer[OwnerResponse]):
    class Meta:
        model = OwnerResponse
        fields = ("body", "created_at", "edited_at")


class ReviewPublicOutputSerializer(serializers.ModelSerializer[Review]):
    author_name = serializers.SerializerMethodField(help_text="First name and last initial; never the email.")
    response = OwnerResponseOutputSerializer(allow_null=True, default=None)

    class Meta:
        model = Review
        fields: tuple[str, ...] = (
            "id",
            "facility",
            "rating",
            "title",
            "comment",
            "author_name",
            "helpful_count",
            "created_at",
            "edited_at",
            "response",
        )

    def get_author_name(self, obj: Review) -> str:
        first, last = obj.author.first_name.strip(), obj.author.last_name.strip()
        if not first:
            return "A driver"
        return f"{first} {last[:1]}." if last else first


class ReviewManagedOutputSerializer(ReviewPublicOutputSerializer):
    """What the author and the facility's organization see: moderation state and the booking too."""

    class Meta(ReviewPublicOutputSerializer.Meta):
        fields = (*ReviewPublicOutputSerializer.Meta.fields, "booking", "is_hidden", "hidden_reason")


class ReviewSummarySerializer(serializers.Serializer):
    average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    count = serializers.IntegerField()
    stars = serializers.DictField(child=serializers.IntegerField(), help_text='Visible reviews per star: {"5": 12, …}.')


class FacilityReviewsPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    summary = ReviewSummarySerializer()
    results = ReviewPublicOutputSerializer(many=True)


class FacilityReviewsQuerySerializer(serializers.Serializer):
    ordering = serializers.ChoiceField(
        choices=("newest", "oldest", "rating", "rating_asc", "helpful"),
        default="newest",
        help_text="`newest` (default), `oldest`, `rating` (highest first), `rating_asc`, `helpful` (most votes first).",
    )
