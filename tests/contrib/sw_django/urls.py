from django.urls import path

from . import views

urlpatterns = [
    path("hello", views.hello),
    path("ahello", views.ahello),
    path("items/<int:pk>", views.item),
    path("login", views.login),
    path("alogin", views.alogin),
    path("stream", views.stream),
]
