



service.name
idle